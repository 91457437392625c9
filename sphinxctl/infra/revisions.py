"""Revisions: each `infra up` records the applied set in a Secret of the namespace (like Helm's
release Secrets). Objects are stored redacted: Secret values never leave the environment, and a
rollback fills them from the settings of the moment."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from sphinxctl.errors import KubernetesError
from sphinxctl.infra.models import RevisionInfo

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi

NAME_PREFIX = "sphinxctl.v"
OWNER_LABEL = "sphinxctl.io/owner"
REVISION_LABEL = "sphinxctl.io/revision"
STATUS_LABEL = "sphinxctl.io/status"
SECRET_TYPE = "sphinxctl.io/revision.v1"
HISTORY_LIMIT = 10


class Revision(BaseModel):
    revision: int
    created: str
    status: Literal["deployed", "failed"]
    description: str
    environment: str
    digest: str
    objects: list[dict[str, Any]]


def digest(objects: list[dict[str, Any]]) -> str:
    """Identity of an applied set (redacted objects, so it holds no secret)."""
    canonical = json.dumps(objects, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def new_revision(
    number: int,
    status: Literal["deployed", "failed"],
    description: str,
    environment: str,
    objects: list[dict[str, Any]],
) -> Revision:
    return Revision(
        revision=number,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        status=status,
        description=description,
        environment=environment,
        digest=digest(objects),
        objects=objects,
    )


def to_secret(rev: Revision, namespace: str) -> dict[str, Any]:
    payload = gzip.compress(rev.model_dump_json().encode(), mtime=0)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"{NAME_PREFIX}{rev.revision}",
            "namespace": namespace,
            "labels": {
                OWNER_LABEL: "sphinxctl",
                REVISION_LABEL: str(rev.revision),
                STATUS_LABEL: rev.status,
            },
        },
        "type": SECRET_TYPE,
        "data": {"release": base64.b64encode(payload).decode()},
    }


def from_secret(secret: dict[str, Any]) -> Revision:
    name = (secret.get("metadata") or {}).get("name")
    try:
        payload = base64.b64decode((secret.get("data") or {})["release"])
        return Revision.model_validate_json(gzip.decompress(payload))
    except (KeyError, ValueError, OSError) as exc:
        raise KubernetesError(
            f"revision Secret {name} is unreadable: {exc}",
            hint="it was edited or written by another tool; delete it to drop that revision",
            reference="infra-revision-corrupt",
        ) from None


def list_revisions(api: KubeApi, namespace: str) -> list[Revision]:
    """Every recorded revision, oldest first."""
    found = api.list("v1", "Secret", namespace, f"{OWNER_LABEL}=sphinxctl")
    revisions = [from_secret(s) for s in found if s.get("type") == SECRET_TYPE]
    return sorted(revisions, key=lambda r: r.revision)


def record(api: KubeApi, namespace: str, rev: Revision, previous: list[Revision]) -> None:
    """Store `rev` and drop revisions beyond the history limit."""
    api.apply(to_secret(rev, namespace))
    everything = [*previous, rev]
    for old in everything[: max(0, len(everything) - HISTORY_LIMIT)]:
        api.delete("v1", "Secret", f"{NAME_PREFIX}{old.revision}", namespace)


def delete_all(api: KubeApi, namespace: str, revisions: list[Revision]) -> None:
    for rev in revisions:
        api.delete("v1", "Secret", f"{NAME_PREFIX}{rev.revision}", namespace)


def current(revisions: list[Revision]) -> Revision | None:
    """The revision deployed now: the newest one that did not fail."""
    deployed = [r for r in revisions if r.status == "deployed"]
    return deployed[-1] if deployed else None


def info(rev: Revision, revisions: list[Revision]) -> RevisionInfo:
    now = current(revisions)
    status = rev.status
    if status == "deployed" and now is not None and rev.revision != now.revision:
        status = "superseded"  # type: ignore[assignment]
    return RevisionInfo(
        revision=rev.revision,
        created=rev.created,
        status=status,
        description=rev.description,
        environment=rev.environment,
        digest=rev.digest,
        objects=len(rev.objects),
    )
