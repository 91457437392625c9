"""Readiness rules like Helm's `--wait`, and the polling loop that reports progress."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import KubernetesError
from sphinxctl.infra.models import ObjectRef, ProgressEvent

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi

WAITED_KINDS = frozenset({"Deployment", "StatefulSet", "PersistentVolumeClaim"})
Readiness = tuple[bool, str]


def _int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def deployment_ready(obj: dict[str, Any]) -> Readiness:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return False, "rollout not observed yet"
    replicas = int(spec.get("replicas", 1))
    rolling = ((spec.get("strategy") or {}).get("rollingUpdate")) or {}
    unavailable = 0
    if (spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
        unavailable = _int_or_percent(
            rolling.get("maxUnavailable", "25%"), replicas, round_up=False
        )
    updated = int(status.get("updatedReplicas", 0))
    ready = int(status.get("readyReplicas", 0))
    if updated < replicas:
        return False, f"{updated}/{replicas} replicas updated"
    if ready < replicas - unavailable:
        return False, f"{ready}/{replicas} replicas ready"
    return True, f"{ready}/{replicas} replicas ready"


def statefulset_ready(obj: dict[str, Any]) -> Readiness:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return False, "rollout not observed yet"
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("updateStrategy") or {}
    partition = int(((strategy.get("rollingUpdate") or {}).get("partition")) or 0)
    ready = int(status.get("readyReplicas", 0))
    if ready < replicas:
        return False, f"{ready}/{replicas} replicas ready"
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        updated = int(status.get("updatedReplicas", 0))
        if updated < replicas - partition:
            return False, f"{updated}/{replicas} replicas updated"
        if partition == 0 and status.get("currentRevision") != status.get("updateRevision"):
            return False, "update revision not yet current"
    return True, f"{ready}/{replicas} replicas ready"


def claim_ready(obj: dict[str, Any], api: KubeApi | None = None) -> Readiness:
    phase = (obj.get("status") or {}).get("phase", "Pending")
    if phase == "Bound":
        return True, "bound"
    # A claim of a WaitForFirstConsumer class binds only when a pod uses it (the backup
    # volume binds at the first backup run): waiting for it would never end.
    klass = (obj.get("spec") or {}).get("storageClassName")
    if api is not None and klass and phase == "Pending":
        storage = api.get("storage.k8s.io/v1", "StorageClass", klass, None)
        if storage and storage.get("volumeBindingMode") == "WaitForFirstConsumer":
            return True, "pending until first consumer (WaitForFirstConsumer)"
    return False, f"claim {phase.lower()}"


def readiness(obj: dict[str, Any] | None, api: KubeApi | None = None) -> Readiness:
    """(ready, why) of a live object by Helm's rules; objects without rules are ready."""
    if obj is None:
        return False, "missing"
    kind = obj.get("kind")
    if kind == "Deployment":
        return deployment_ready(obj)
    if kind == "StatefulSet":
        return statefulset_ready(obj)
    if kind == "PersistentVolumeClaim":
        return claim_ready(obj, api)
    if kind == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        return (True, "address assigned") if ingress else (False, "no load balancer address")
    return True, "present"


def wait_ready(
    api: KubeApi,
    refs: list[ObjectRef],
    *,
    timeout: float,
    on_event: Callable[[ProgressEvent], None] | None = None,
    poll_interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll until every workload and claim in `refs` is ready; KubernetesError on timeout."""
    waited = [r for r in refs if r.kind in WAITED_KINDS]
    deadline = clock() + timeout
    last: tuple[int, tuple[str, ...]] | None = None
    while True:
        pending: dict[str, str] = {}
        for ref in waited:
            ok, why = readiness(api.get(ref.api_version, ref.kind, ref.name, ref.namespace), api)
            if not ok:
                pending[ref.label] = why
        done = len(waited) - len(pending)
        if on_event and last != (done, tuple(pending)):
            on_event(
                ProgressEvent(
                    phase="wait",
                    ready=done,
                    total=len(waited),
                    message="all ready"
                    if not pending
                    else "waiting for "
                    + ", ".join(f"{name} ({why})" for name, why in pending.items()),
                )
            )
            last = (done, tuple(pending))
        if not pending:
            return
        if clock() >= deadline:
            raise KubernetesError(
                f"timed out after {timeout:g}s waiting for {len(pending)} of {len(waited)} "
                "objects: " + "; ".join(f"{name}: {why}" for name, why in pending.items()),
                hint="check the pods' events (`kubectl describe`), then run `sphinxctl infra "
                "status`; pass a longer --timeout if the rollout is just slow",
                reference="kubernetes-wait-timeout",
                details={"pending": sorted(pending)},
            )
        sleep(poll_interval)
