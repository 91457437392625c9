"""ApplySet (KEP-3659) labels and the parent object that lists which kinds a stack uses.

Every member carries `applyset.kubernetes.io/part-of=<id>`; the parent (a Secret in the
namespace) carries the id and the group-kinds of its members, so pruning lists exactly those
kinds with that label and deletes what the new set no longer holds.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from sphinxctl import __version__

PARENT_NAME = "sphinxctl-applyset"
PARENT_KIND = "Secret"
ID_LABEL = "applyset.kubernetes.io/id"
PART_OF_LABEL = "applyset.kubernetes.io/part-of"
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
GROUP_KINDS_ANNOTATION = "applyset.kubernetes.io/contains-group-kinds"
FIELD_MANAGER = "sphinxctl"


def applyset_id(namespace: str, name: str = PARENT_NAME, kind: str = PARENT_KIND) -> str:
    """`applyset-<base64url(sha256(name.namespace.kind.group))>-v1` (core group is empty)."""
    digest = hashlib.sha256(f"{name}.{namespace}.{kind}.".encode()).digest()
    encoded = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return f"applyset-{encoded}-v1"


def parent_object(namespace: str, group_kinds: set[str]) -> dict[str, Any]:
    """The ApplySet parent Secret listing `group_kinds`."""
    return {
        "apiVersion": "v1",
        "kind": PARENT_KIND,
        "metadata": {
            "name": PARENT_NAME,
            "namespace": namespace,
            "labels": {ID_LABEL: applyset_id(namespace)},
            "annotations": {
                TOOLING_ANNOTATION: f"sphinxctl/v{__version__}",
                GROUP_KINDS_ANNOTATION: ",".join(sorted(group_kinds)),
            },
        },
        "type": "Opaque",
    }


def parent_group_kinds(parent: dict[str, Any] | None) -> set[str]:
    """The group-kinds a live parent lists (empty when there is none)."""
    if not parent:
        return set()
    annotations = (parent.get("metadata") or {}).get("annotations") or {}
    text = str(annotations.get(GROUP_KINDS_ANNOTATION, ""))
    return {gk for gk in text.split(",") if gk}


def split_group_kind(group_kind: str) -> tuple[str, str]:
    """`Deployment.apps` -> (`apps`, `Deployment`); `Secret` -> (``, `Secret`)."""
    kind, _, group = group_kind.partition(".")
    return group, kind


def selector(namespace: str) -> str:
    return f"{PART_OF_LABEL}={applyset_id(namespace)}"
