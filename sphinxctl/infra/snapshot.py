"""One list request per kind instead of one get per object: the live state `up`, `diff` and
`down` compare against, and the ApplySet members `prune` and `down` delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sphinxctl.infra import applyset
from sphinxctl.infra.order import group_kind

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi

Key = tuple[str, str | None, str]  # kind, namespace, name
Snapshot = dict[Key, dict[str, Any]]


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(obj.get("kind")), meta.get("namespace"), str(meta.get("name"))


def kinds_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    """Group-kind -> apiVersion of the given objects."""
    return {group_kind(o["apiVersion"], o["kind"]): o["apiVersion"] for o in objects}


def take(api: KubeApi, namespace: str, kinds: set[str], versions: dict[str, str]) -> Snapshot:
    """Every live object of `kinds` in `namespace` (cluster-scoped kinds: cluster-wide)."""
    out: Snapshot = {}
    for gk in sorted(kinds):
        group, kind = applyset.split_group_kind(gk)
        api_version = versions.get(gk) or api.api_version_of(group, kind)
        for item in api.list(api_version, kind, namespace, None):
            item = {**item, "apiVersion": api_version, "kind": kind}
            out[key_of(item)] = item
    return out


def members(snap: Snapshot, namespace: str) -> list[dict[str, Any]]:
    """Live objects labelled as members of the namespace's ApplySet."""
    ident = applyset.applyset_id(namespace)
    return [
        obj
        for obj in snap.values()
        if ((obj.get("metadata") or {}).get("labels") or {}).get(applyset.PART_OF_LABEL) == ident
    ]
