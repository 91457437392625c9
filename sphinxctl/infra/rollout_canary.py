"""The canary Deployment beside the stable one, and the replica counts that set traffic shares.

Traffic is split by replica ratio behind the one Service: canary pods carry the stable's
`app.kubernetes.io/name` (so the Service and Prometheus' pod discovery include them) plus
`sphinx.io/track: canary`; the canary Deployment's selector adds that track label, so the two
Deployments never adopt each other's pods. The canary is no ApplySet member: `infra up` never
prunes it. The stable's replica count belongs to the HPA; a rollout only sets it to 0 for the
100 % step (the HPA stands still at 0) and back to the recorded count.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import UsageError
from sphinxctl.infra.applyset import PART_OF_LABEL
from sphinxctl.infra.rollout_models import StepPlan

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi
    from sphinxctl.infra.context import StackContext

STABLE_NAME = "sphinx-api"
CANARY_NAME = "sphinx-api-canary"
CONTAINER = "api"
TRACK_LABEL = "sphinx.io/track"
ROLLOUT_LABEL = "sphinxctl.io/rollout"


def plan_step(step: int, share: int, stable_replicas: int) -> StepPlan:
    """Canary replicas giving `share` % of the pods beside `stable_replicas` (at least one,
    at most as many as the stable); at 100 % the stable goes to 0."""
    if share >= 100:
        return StepPlan(step=step, share=share, canary_replicas=stable_replicas, stable_replicas=0)
    wanted = round(stable_replicas * share / (100 - share))
    canary = min(stable_replicas, max(1, wanted))
    return StepPlan(step=step, share=share, canary_replicas=canary, stable_replicas=stable_replicas)


def plan(steps: list[int], stable_replicas: int) -> list[StepPlan]:
    return [plan_step(i + 1, share, stable_replicas) for i, share in enumerate(steps)]


def live_stable(ctx: StackContext) -> dict[str, Any]:
    found = ctx.api.get("apps/v1", "Deployment", STABLE_NAME, ctx.namespace)
    if found is None:
        raise UsageError(
            f"no Deployment {ctx.namespace}/{STABLE_NAME}: there is no stable to roll out from",
            hint="run `sphinxctl infra up` first",
        )
    return found


def image_of(deployment: dict[str, Any]) -> str:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    found = [c for c in containers if c.get("name") == CONTAINER] or containers
    return str(found[0].get("image", ""))


def replicas_of(deployment: dict[str, Any]) -> int:
    value = (deployment.get("spec") or {}).get("replicas")
    return int(value) if value is not None else 1


def canary_object(stable_rendered: dict[str, Any], image: str, rollout_id: str) -> dict[str, Any]:
    """The canary Deployment: the rendered stable's pod template with `image`. Like the
    stable's, it has no spec.replicas: counts are set by `scale`, never by an apply, so an
    apply never conflicts with a count set earlier (abort, a killed run)."""
    obj = copy.deepcopy(stable_rendered)
    meta = obj["metadata"]
    meta["name"] = CANARY_NAME
    labels = meta.setdefault("labels", {})
    labels.pop(PART_OF_LABEL, None)
    labels[TRACK_LABEL] = "canary"
    labels[ROLLOUT_LABEL] = rollout_id
    spec = obj["spec"]
    spec.pop("replicas", None)
    spec["selector"]["matchLabels"][TRACK_LABEL] = "canary"
    spec["template"]["metadata"]["labels"][TRACK_LABEL] = "canary"
    for container in spec["template"]["spec"]["containers"]:
        if container.get("name") == CONTAINER:
            container["image"] = image
    return obj


def scale(api: KubeApi, namespace: str, name: str, replicas: int) -> bool:
    """Set a Deployment's replicas (a merge patch, as `kubectl scale`); False if already so."""
    live = api.get("apps/v1", "Deployment", name, namespace)
    if live is not None and replicas_of(live) == replicas:
        return False
    api.merge_patch("apps/v1", "Deployment", name, namespace, {"spec": {"replicas": replicas}})
    return True


def canary_replicas(api: KubeApi, namespace: str) -> int | None:
    live = api.get("apps/v1", "Deployment", CANARY_NAME, namespace)
    return None if live is None else replicas_of(live)
