"""`infra up/diff/status/history/rollback/down` against a real kube-apiserver (with
controller-manager, scheduler and kwok nodes) started once per session on loopback; each test
has a namespace of its own. Requests are counted through a fault proxy in front of it."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.errors import ExitCode, KubernetesError, ManifestRejected, UsageError
from sphinxctl.infra.apply import rollback, up
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.models import ProgressEvent
from sphinxctl.infra.order import kind_rank
from sphinxctl.infra.queries import diff, history, status
from sphinxctl.infra.teardown import down
from sphinxctl.settings import Settings
from tests.support.infra_env import (
    DB_PASSWORD,
    GRAFANA_PASSWORD,
    contains_secret,
    image_ref,
    project_copy,
    settings_for,
    stack_for,
)
from tests.support.k8s_fault_proxy import FaultProxy
from tests.support.k8s_fixtures import Cluster

pytestmark = pytest.mark.integration
CLAIMS = ["data-postgres-0", "data-redis-0", "postgres-backups"]


@pytest.fixture
def settings(k8s_namespace: str) -> Settings:
    s = settings_for("mainnet")
    s.kubernetes.namespace = k8s_namespace
    return s


@pytest.fixture
def stack(settings: Settings, proxied_kubeconfig: Path) -> Iterator[StackContext]:
    with stack_for(settings, proxied_kubeconfig) as ctx:
        yield ctx


def _secret_value(cluster: Cluster, name: str, key: str) -> str:
    secret = cluster.get("v1", "secrets", name)
    return base64.b64decode(secret["data"][key]).decode()


def _image(cluster: Cluster) -> str:
    live = cluster.get("apps/v1", "deployments", "sphinx-api")
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def test_up_applies_everything_server_side_in_install_order(
    fault_proxy: FaultProxy, stack: StackContext, cluster: Cluster
) -> None:
    result = up(stack)
    assert result.revision == 1 and result.recorded_revision
    assert {c.action for c in result.changes} == {"create"} and len(result.changes) > 30
    applies = [r for r in fault_proxy.writes() if r.method == "PATCH"]
    assert all(r.content_type == "application/apply-patch+yaml" for r in applies)
    assert all(r.query["fieldManager"] == "sphinxctl" for r in applies)
    assert all(r.query["fieldValidation"] == "Strict" for r in applies)
    kinds = [
        json.loads(r.body)["kind"]
        for r in applies
        if "sphinxctl" not in json.loads(r.body)["metadata"]["name"]
    ]
    assert kinds == sorted(kinds, key=kind_rank)
    body = next(json.loads(r.body) for r in applies if r.path.endswith("deployments/sphinx-api"))
    assert "replicas" not in body["spec"]
    live = cluster.get("apps/v1", "deployments", "sphinx-api")
    assert "sphinxctl" in {m["manager"] for m in live["metadata"]["managedFields"]}
    assert _secret_value(cluster, "postgres-credentials", "POSTGRES_PASSWORD") == DB_PASSWORD
    # HPA, PDB, NetworkPolicy and Ingress are accepted by the real schema as rendered.
    assert cluster.get("autoscaling/v2", "horizontalpodautoscalers", "sphinx-api")
    assert cluster.get("policy/v1", "poddisruptionbudgets", "sphinx-api")
    assert len(cluster.list("networking.k8s.io/v1", "networkpolicies")) >= 8
    assert cluster.get("networking.k8s.io/v1", "ingresses", "sphinx-api")


def test_second_up_makes_zero_writes(fault_proxy: FaultProxy, stack: StackContext) -> None:
    up(stack)
    fault_proxy.requests.clear()
    again = up(stack)
    assert {c.action for c in again.changes} == {"unchanged"}
    assert (again.revision, again.recorded_revision) == (1, False)
    assert fault_proxy.writes() == []
    assert len(history(stack).revisions) == 1


def test_up_wait_converges_from_empty_and_spreads_over_three_zones(
    settings: Settings, kubeconfig: Path, cluster: Cluster
) -> None:
    settings.kubernetes.hpa_min_replicas = 3
    cluster.provide_volumes(CLAIMS)
    events: list[ProgressEvent] = []
    with stack_for(settings, kubeconfig, events=events) as ctx:
        result = up(ctx, wait=True, timeout=120)
        assert result.waited and status(ctx).ready
        waits = [e for e in events if e.phase == "wait" and e.total]
        assert waits[-1].message == "all ready" and waits[-1].ready == waits[-1].total == 10
        # The real autoscaler raises the Deployment to the HPA's minimum; `up` leaves the
        # replica count to it (the template does not set it).
        deadline = time.monotonic() + 90
        while cluster.get("apps/v1", "deployments", "sphinx-api")["spec"]["replicas"] != 3:
            assert time.monotonic() < deadline, "the HPA never scaled sphinx-api to 3"
            time.sleep(0.5)
        again = up(ctx, wait=True, timeout=120)
        assert not again.changed
    assert cluster.get("apps/v1", "deployments", "sphinx-api")["spec"]["replicas"] == 3
    pods = cluster.list("v1", "pods", "app.kubernetes.io/name=sphinx-api")
    nodes = {p["spec"]["nodeName"] for p in pods if p["status"].get("phase") == "Running"}
    zones = {
        cluster.get("v1", "nodes", n, None)["metadata"]["labels"]["topology.kubernetes.io/zone"]
        for n in nodes
    }
    assert zones == {"zone-a", "zone-b", "zone-c"}


def test_wait_times_out_naming_what_is_not_ready(stack: StackContext) -> None:
    with pytest.raises(KubernetesError) as err:
        up(stack, wait=True, timeout=1)  # no volumes for the claims: the databases stay down
    assert err.value.reference == "kubernetes-wait-timeout"
    assert f"StatefulSet/{stack.namespace}/postgres" in err.value.details["pending"]


def test_a_removed_manifest_is_pruned_and_claims_and_foreign_objects_stay(
    settings: Settings, kubeconfig: Path, tmp_path: Path, cluster: Cluster
) -> None:
    project = project_copy(tmp_path / "project")
    ns = settings.kubernetes.namespace
    with stack_for(settings, kubeconfig, project) as ctx:
        up(ctx)
        foreign = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "someone"}}
        cluster.apply("v1", "configmaps", foreign, "kubectl")
        (project / "manifests" / "redis.yaml").unlink()
        (project / "manifests" / "backup.yaml").unlink()
        result = up(ctx)
    actions = {c.object: c.action for c in result.changes if c.action in ("prune", "keep")}
    assert actions == {
        f"StatefulSet/{ns}/redis": "prune",
        f"Service/{ns}/redis": "prune",
        f"CronJob/{ns}/postgres-backup": "prune",
        f"PersistentVolumeClaim/{ns}/postgres-backups": "keep",
    }
    assert cluster.get("apps/v1", "statefulsets", "redis") is None
    assert cluster.get("v1", "persistentvolumeclaims", "postgres-backups") is not None
    assert cluster.get("v1", "configmaps", "someone") is not None
    assert result.revision == 2 and result.recorded_revision


def test_dry_run_changes_nothing_and_reports_what_would_change(
    fault_proxy: FaultProxy, stack: StackContext
) -> None:
    first = up(stack, dry_run=True)
    assert {c.action for c in first.changes} == {"create"} and fault_proxy.writes() == []
    up(stack)
    fault_proxy.requests.clear()
    stack.settings.kubernetes.image = image_ref("0.2.0")
    preview = up(stack, dry_run=True)
    changed = {c.object for c in preview.changes if c.action != "unchanged"}
    ns = stack.namespace
    # A new image is a new migration Job (its pod template is immutable): create one, prune one.
    jobs = {
        c.action for c in preview.changes if c.object.startswith(f"Job/{ns}/sphinx-db-migrate-")
    }
    assert jobs == {"create", "prune"}
    changed = {c for c in changed if not c.startswith("Job/")}
    assert changed == {f"Deployment/{ns}/sphinx-api", f"ConfigMap/{ns}/sphinx-api-config"}
    assert fault_proxy.writes() == []


def test_diff_shows_changes_and_masks_secret_values(
    settings: Settings, kubeconfig: Path, cluster: Cluster
) -> None:
    with stack_for(settings, kubeconfig) as ctx:
        up(ctx)
        drift = [(o.object, o.diff) for o in diff(ctx).objects if o.action != "unchanged"]
        assert drift == []
    changed = settings_for("mainnet", SPHINX_GRAFANA_PASSWORD="Zq7-new-grafana-pw")
    changed.kubernetes.namespace = settings.kubernetes.namespace
    changed.kubernetes.image = image_ref("0.2.0")
    with stack_for(changed, kubeconfig) as ctx:
        result = diff(ctx)
    ns = settings.kubernetes.namespace
    by_object = {o.object: o for o in result.objects}
    deployment = by_object[f"Deployment/{ns}/sphinx-api"]
    assert deployment.action == "configure"
    assert f"+        image: {image_ref('0.2.0')}" in deployment.diff
    secret = by_object[f"Secret/{ns}/grafana-admin"].diff
    assert "admin-password: '******** (before)'" in secret
    assert "admin-password: '******** (after)'" in secret
    text = json.dumps([o.model_dump() for o in result.objects])
    assert contains_secret(text) == [] and "Zq7-new-grafana-pw" not in text
    assert base64.b64encode(GRAFANA_PASSWORD.encode()).decode() not in text
    assert _secret_value(cluster, "grafana-admin", "admin-password") == GRAFANA_PASSWORD


def test_diff_reports_another_managers_conflict_and_force_conflicts_takes_it_over(
    fault_proxy: FaultProxy, stack: StackContext, cluster: Cluster
) -> None:
    up(stack)
    edit = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sphinx-api"},
        "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "hotfix:1"}]}}},
    }
    cluster.apply("apps/v1", "deployments", edit, "kubectl-edit")  # fmt: skip
    found = {o.object: o for o in diff(stack).objects}[f"Deployment/{stack.namespace}/sphinx-api"]
    assert found.action == "conflict"
    assert 'conflict with "kubectl-edit"' in found.diff and "image" in found.diff
    fault_proxy.requests.clear()
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert err.value.reference == "kubernetes-conflict" and err.value.exit_code == 5
    assert "--force-conflicts" in (err.value.hint or "")
    tries = [r for r in fault_proxy.requests if r.path.endswith("deployments/sphinx-api")]
    assert len(tries) == 1  # an apply conflict is not retried
    assert fault_proxy.writes() == [] or all("sphinxctl.v" in r.path for r in fault_proxy.writes())
    assert _image(cluster) == "hotfix:1"
    up(stack, force_conflicts=True)
    assert _image(cluster) == image_ref("0.1.0")
    assert {o.action for o in diff(stack).objects} == {"unchanged"}


def test_keyed_lists_merge_per_key_and_equal_values_are_co_owned(
    fault_proxy: FaultProxy, stack: StackContext, cluster: Cluster
) -> None:
    up(stack)
    container = {"name": "api", "env": [{"name": "EXTRA_FLAG", "value": "on"}]}
    patch = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sphinx-api"},
             "spec": {"template": {"spec": {"containers": [container]}}}}  # fmt: skip
    cluster.apply("apps/v1", "deployments", patch, "sidecar-injector")
    same = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis"},
            "spec": {"sessionAffinity": "None"}}  # fmt: skip
    cluster.apply("v1", "services", same, "other-tool", force=False)  # no conflict: equal
    fault_proxy.requests.clear()
    result = up(stack)
    drift = [(c.object, c.action) for c in result.changes if c.action != "unchanged"]
    assert drift == [] and fault_proxy.writes() == []
    env = cluster.get("apps/v1", "deployments", "sphinx-api")["spec"]["template"]["spec"]
    assert {"name": "EXTRA_FLAG", "value": "on"} in env["containers"][0]["env"]
    owners = {
        m["manager"] for m in cluster.get("v1", "services", "redis")["metadata"]["managedFields"]
    }
    assert {"sphinxctl", "other-tool"} <= owners


def test_an_unknown_template_key_is_one_clear_error_exit_2_without_retries(
    fault_proxy: FaultProxy, settings: Settings, proxied_kubeconfig: Path, tmp_path: Path,
    cluster: Cluster,
) -> None:  # fmt: skip
    project = project_copy(tmp_path / "project")
    path = project / "manifests" / "redis.yaml"
    path.write_text(
        path.read_text().replace(
            "  serviceName: redis\n", "  serviceName: redis\n  replicaCount: 2\n"
        )
    )
    with (
        stack_for(settings, proxied_kubeconfig, project) as ctx,
        pytest.raises(ManifestRejected) as err,
    ):
        up(ctx)
    assert err.value.exit_code == ExitCode.USAGE == 2  # type: ignore[comparison-overlap]
    assert err.value.reference == "manifest-unknown-field"
    assert f"StatefulSet {settings.kubernetes.namespace}/redis" in err.value.message
    assert ".spec.replicaCount" in err.value.message
    assert "manifest template" in (err.value.hint or "")
    tries = [r for r in fault_proxy.requests if r.path.endswith("statefulsets/redis")]
    assert len(tries) == 1
    written = {r.path.rsplit("/", 2)[-2] for r in fault_proxy.writes()}
    assert written <= {"namespaces", "secrets"}  # the namespace, and the failed revision
    assert cluster.list("apps/v1", "statefulsets") == []
    with stack_for(settings, proxied_kubeconfig) as ctx:
        assert history(ctx).revisions[-1].status == "failed"


def test_a_secret_key_removed_from_config_is_removed_from_the_cluster(
    settings: Settings, kubeconfig: Path, tmp_path: Path, cluster: Cluster
) -> None:
    project = project_copy(tmp_path / "project")
    with stack_for(settings, kubeconfig, project) as ctx:
        up(ctx)
        assert _secret_value(cluster, "grafana-admin", "admin-user") == "admin"
        secrets = project / "manifests" / "secrets.yaml"
        secrets.write_text(secrets.read_text().replace("  admin-user: admin\n", ""))
        up(ctx)
    data = cluster.get("v1", "secrets", "grafana-admin")["data"]
    assert "admin-user" not in data
    assert base64.b64decode(data["admin-password"]).decode() == GRAFANA_PASSWORD


def test_an_immutable_field_change_is_refused_before_any_write_or_recreated(
    fault_proxy: FaultProxy, settings: Settings, proxied_kubeconfig: Path, tmp_path: Path,
    cluster: Cluster,
) -> None:  # fmt: skip
    project = project_copy(tmp_path / "project")
    with stack_for(settings, proxied_kubeconfig, project) as ctx:
        up(ctx)
        redis = project / "manifests" / "redis.yaml"
        redis.write_text(
            redis.read_text().replace("  serviceName: redis\n", "  serviceName: cache\n")
        )
        ctx.settings.kubernetes.image = image_ref("0.3.0")
        fault_proxy.requests.clear()
        with pytest.raises(ManifestRejected) as err:
            up(ctx)
        assert err.value.reference == "kubernetes-immutable-field"
        assert err.value.exit_code == 2
        assert f"StatefulSet/{ctx.namespace}/redis" in err.value.message
        assert "--recreate" in (err.value.hint or "")
        assert [r for r in fault_proxy.writes() if "sphinxctl.v" not in r.path] == []
        assert _image(cluster) == image_ref("0.1.0")  # nothing half-applied
        result = up(ctx, recreate=True)
        assert cluster.get("apps/v1", "statefulsets", "redis")["spec"]["serviceName"] == "cache"
        assert _image(cluster) == image_ref("0.3.0") and result.recorded_revision
        backup = project / "manifests" / "backup.yaml"
        text = backup.read_text()
        backup.write_text(text.replace('["ReadWriteOnce"]', '["ReadWriteOncePod"]', 1))
        with pytest.raises(ManifestRejected) as err:
            up(ctx, recreate=True)  # a claim holds data: never deleted to re-create it
    assert "holds data" in (err.value.hint or "")
    assert f"PersistentVolumeClaim/{ctx.namespace}/postgres-backups" in err.value.message
    assert cluster.get("v1", "persistentvolumeclaims", "postgres-backups") is not None


def test_down_then_up_while_the_namespace_terminates_waits_with_progress(
    settings: Settings, kubeconfig: Path, cluster: Cluster
) -> None:
    events: list[ProgressEvent] = []
    with stack_for(settings, kubeconfig, events=events) as ctx:
        up(ctx)
        down(ctx, delete_volumes=True, delete_namespace=True)
        assert cluster.get("v1", "namespaces", cluster.ns, None)["metadata"]["deletionTimestamp"]
        result = up(ctx, timeout=120)
    assert result.revision == 1 and {c.action for c in result.changes} == {"create"}
    assert any(e.phase == "wait" and "being deleted" in e.message for e in events)


def test_down_keeps_volumes_and_namespace_unless_asked(
    stack: StackContext, cluster: Cluster
) -> None:
    up(stack)
    with pytest.raises(UsageError, match="deletes the volumes"):
        down(stack, delete_namespace=True)
    result = down(stack)
    kept = {c.object for c in result.changes if c.action == "keep"}
    ns = stack.namespace
    assert kept == {f"PersistentVolumeClaim/{ns}/postgres-backups", f"Namespace/{ns}"}
    assert cluster.get("apps/v1", "deployments", "sphinx-api") is None
    assert cluster.get("v1", "persistentvolumeclaims", "postgres-backups") is not None
    assert history(stack).revisions == []


def test_history_and_rollback_restore_an_earlier_revision(
    stack: StackContext, cluster: Cluster
) -> None:
    up(stack)
    stack.settings.kubernetes.image = image_ref("0.2.0")
    assert up(stack).revision == 2
    assert rollback(stack).revision == 3
    assert _image(cluster) == image_ref("0.1.0")
    assert _secret_value(cluster, "postgres-credentials", "POSTGRES_PASSWORD") == DB_PASSWORD
    assert [(r.revision, r.status, r.description) for r in history(stack).revisions] == [
        (1, "superseded", "install"),
        (2, "superseded", "upgrade"),
        (3, "deployed", "rollback to 1"),
    ]
    rollback(stack, to=2)
    assert _image(cluster) == image_ref("0.2.0")
    with pytest.raises(UsageError, match="no revision 9"):
        rollback(stack, to=9)


def test_secret_values_never_reach_revisions_history_or_logs(
    fault_proxy: FaultProxy, stack: StackContext, cluster: Cluster,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    up(stack)
    stack.settings.kubernetes.image = image_ref("0.2.0")
    up(stack)
    rollback(stack)
    shown = history(stack, show=1)
    diff(stack)
    status(stack)
    assert contains_secret(json.dumps(shown.model_dump())) == []
    assert contains_secret(caplog.text) == []
    for secret in cluster.list("v1", "secrets"):
        if secret["metadata"]["name"].startswith("sphinxctl.v"):
            payload = gzip.decompress(base64.b64decode(secret["data"]["release"])).decode()
            assert contains_secret(payload) == [] and "********" in payload
    carriers = {r.path.rsplit("/", 1)[-1] for r in fault_proxy.requests if _carries(r.body)}
    assert carriers == {
        "sphinx-api-env",
        "postgres-credentials",
        "grafana-admin",
        "exporter-credentials",
    }


def _carries(body: str) -> bool:
    """Whether a request body holds a secret value, in clear or inside a Secret's base64 `data`."""
    if contains_secret(body):
        return True
    try:
        obj = json.loads(body)
    except ValueError:
        return False
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return False
    data = obj.get("data") or {}
    decoded = (base64.b64decode(v).decode(errors="replace") for v in data.values())
    return any(contains_secret(text) for text in decoded)
