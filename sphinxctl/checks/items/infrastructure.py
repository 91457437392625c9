"""Infrastructure: a cluster is configured, the render passes the readiness lint, and the
cluster holds exactly the rendered objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import (
    Blocked,
    Outcome,
    check,
    failed,
    not_applicable,
    passed,
    warned,
)

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi


def cluster_configured(ctx: CheckContext) -> bool:
    k8s = ctx.settings.kubernetes
    return k8s.kubeconfig is not None or k8s.context is not None


def rendered_objects(ctx: CheckContext) -> list[dict[str, Any]]:
    """The environment's stack as rendered from manifests/ (Secret values redacted)."""
    from sphinxctl.errors import SphinxError
    from sphinxctl.infra.render import Sources, render

    def build() -> list[dict[str, Any]]:
        try:
            return render(ctx.settings, Sources.under(ctx.project_root)).objects
        except SphinxError as exc:
            raise Blocked("INF-002", f"the stack does not render: {exc.message}") from None

    return ctx.memo("rendered", build)


def kube_api(ctx: CheckContext) -> KubeApi | None:
    """A connection to the configured cluster (None on local without one)."""
    from sphinxctl.errors import KubernetesError
    from sphinxctl.infra.client import KubeApi, RetryPolicy

    def connect() -> KubeApi | None:
        k8s = ctx.settings.kubernetes
        if not cluster_configured(ctx):
            if ctx.is_local:
                return None
            raise Blocked("INF-001", "no Kubernetes cluster is configured")
        timeout = ctx.timeout_for(5.0)
        try:
            return KubeApi.connect(
                ctx.path(k8s.kubeconfig) if k8s.kubeconfig else None,
                k8s.context,
                retry=RetryPolicy(attempts=2, base_delay=0.1, max_delay=0.5),
                request_timeout=(timeout, timeout),
            )
        except KubernetesError as exc:
            raise Blocked("INF-001", exc.message, exc.hint) from None

    return ctx.memo("kube-api", connect)


def live_object(ctx: CheckContext, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
    """One object of the environment's namespace as the cluster has it (None if absent)."""
    from sphinxctl.errors import KubernetesError

    api = kube_api(ctx)
    if api is None:
        raise Blocked("INF-001", "no Kubernetes cluster is configured")
    try:
        found: dict[str, Any] | None = api.get(
            api_version, kind, name, ctx.settings.kubernetes.namespace
        )
    except KubernetesError as exc:
        raise Blocked("INF-003", exc.message, exc.hint) from None
    return found


@check("INF-001", "k8s-cluster-configured")
def k8s_cluster_configured(ctx: CheckContext) -> Outcome:
    """Outside local, a Kubernetes cluster is configured and its kubeconfig loads."""
    k8s = ctx.settings.kubernetes
    if not cluster_configured(ctx):
        if ctx.is_local:
            return passed("local: no cluster needed (the API runs with `sphinxctl serve`)")
        return failed(
            f"no Kubernetes cluster configured for {ctx.env}",
            "set kubernetes.kubeconfig (and kubernetes.context) in the environment file",
        )
    try:
        api = kube_api(ctx)
    except Blocked as blocked:
        return failed(blocked.reason, blocked.hint or "fix kubernetes.kubeconfig / context")
    where = api.host if api is not None else "?"
    return passed(f"cluster {where}" + (f", context {k8s.context}" if k8s.context else ""))


@check("INF-002", "k8s-manifests-lint")
def k8s_manifests_lint(ctx: CheckContext) -> Outcome:
    """The rendered stack passes the readiness lint (HPA bounds, PDB, NetworkPolicy, TLS,
    probes, resources)."""
    from sphinxctl.infra.lint import lint_objects

    try:
        objects = rendered_objects(ctx)
    except Blocked as blocked:
        if blocked.item_id != "INF-002":
            raise
        return failed(blocked.reason, "fix the template in manifests/ that the message names")
    findings = lint_objects(objects)
    errors = [f"{f.object}: {f.message}" for f in findings if f.severity == "error"]
    warnings = [f"{f.object}: {f.message}" for f in findings if f.severity == "warning"]
    hint = "fix the manifests (or the kubernetes section of the environment file)"
    if errors:
        return failed("; ".join(errors), hint, findings=[f.model_dump() for f in findings])
    if warnings:
        return warned("; ".join(warnings), hint)
    return passed(f"{len(objects)} objects rendered; lint clean")


@check("INF-003", "k8s-objects-match", timeout=15.0)
def k8s_objects_match(ctx: CheckContext) -> Outcome:
    """Every rendered object is present in the cluster and matches the render."""
    api = kube_api(ctx)
    if api is None:
        return not_applicable("local without a cluster: nothing to compare")
    rendered_objects(ctx)  # Blocked by INF-002 when the stack does not render
    from sphinxctl.errors import KubernetesError
    from sphinxctl.infra.context import StackContext
    from sphinxctl.infra.queries import diff
    from sphinxctl.infra.render import Sources

    try:
        result = diff(StackContext(ctx.settings, api, Sources.under(ctx.project_root)))
    except KubernetesError as exc:
        return failed(exc.message, exc.hint or "check the cluster and the kubeconfig")
    wrong = {
        "create": "missing",
        "configure": "differs from the render",
        "prune": "not in the render (would be pruned)",
    }
    problems = [f"{o.object} {wrong[o.action]}" for o in result.objects if o.action in wrong]
    if problems:
        return failed(
            "; ".join(problems),
            "run `sphinxctl infra diff` to see the changes, then `sphinxctl infra up`",
        )
    return passed(f"{len(result.objects)} objects in {result.namespace} match the render")
