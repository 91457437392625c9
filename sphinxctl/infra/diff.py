"""Compare live objects with what an apply would produce (managedFields and server-set
bookkeeping ignored); Secret values are masked on both sides, so a diff shows that a value
changed, never what it is."""

from __future__ import annotations

import copy
import difflib
from typing import Any

import yaml

from sphinxctl.infra.secret_values import REDACTED

_IGNORED_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


def normalize(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A copy without status and server bookkeeping (what `unchanged` is decided on)."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _IGNORED_METADATA:
        meta.pop(key, None)
    return out


def mask_secrets(
    live: dict[str, Any], new: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Masked copies of a live/new pair: equal values as `********`, changed ones marked."""
    if (live or new).get("kind") != "Secret":
        return live, new
    live, new = copy.deepcopy(live), copy.deepcopy(new)
    for field in ("data", "stringData"):
        before, after = live.get(field) or {}, new.get(field) or {}
        for key in set(before) | set(after):
            changed = before.get(key) != after.get(key)
            if key in before:
                before[key] = f"{REDACTED} (before)" if changed else REDACTED
            if key in after:
                after[key] = f"{REDACTED} (after)" if changed else REDACTED
    return live, new


def unified(label: str, live: dict[str, Any], new: dict[str, Any]) -> str:
    """A unified diff of two (already masked and normalized) objects as YAML."""

    def lines(obj: dict[str, Any]) -> list[str]:
        if not obj:
            return []
        return str(yaml.safe_dump(obj, sort_keys=True, width=100)).splitlines(keepends=True)

    return "".join(
        difflib.unified_diff(
            lines(live), lines(new), fromfile=f"live/{label}", tofile=f"new/{label}"
        )
    )
