"""The rollout record: one ConfigMap per namespace (`sphinxctl.rollout`), written after every
change of state so a killed process resumes where the record says. It holds no secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sphinxctl.errors import KubernetesError
from sphinxctl.infra.revisions import OWNER_LABEL
from sphinxctl.infra.rollout_models import RolloutRecord

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi

RECORD_NAME = "sphinxctl.rollout"
RECORD_KEY = "rollout.json"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load(api: KubeApi, namespace: str) -> RolloutRecord | None:
    """The namespace's last rollout, or None when there never was one."""
    found = api.get("v1", "ConfigMap", RECORD_NAME, namespace)
    if found is None:
        return None
    try:
        return RolloutRecord.model_validate_json((found.get("data") or {})[RECORD_KEY])
    except (KeyError, ValidationError) as exc:
        raise KubernetesError(
            f"rollout record ConfigMap {namespace}/{RECORD_NAME} is unreadable: "
            f"{type(exc).__name__}",
            hint="it was edited by hand; `sphinxctl infra rollout abort` rewrites it",
            reference="rollout-record-corrupt",
        ) from None


def save(api: KubeApi, namespace: str, record: RolloutRecord) -> None:
    record.updated = now_text()
    api.apply(to_configmap(record, namespace))


def to_configmap(record: RolloutRecord, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": RECORD_NAME,
            "namespace": namespace,
            "labels": {OWNER_LABEL: "sphinxctl", "sphinxctl.io/rollout": record.id},
        },
        "data": {RECORD_KEY: record.model_dump_json()},
    }
