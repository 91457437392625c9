"""The real `kubernetes` client against the Kubernetes API test server over HTTP: up, diff,
status, history, rollback, down, prune, retries, and secrets that never leak."""

from __future__ import annotations

import base64
import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.errors import ConfigError, KubernetesError, UsageError
from sphinxctl.infra.apply import rollback, up
from sphinxctl.infra.client import KubeApi
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.models import ProgressEvent
from sphinxctl.infra.order import kind_rank
from sphinxctl.infra.queries import diff, history, status
from sphinxctl.infra.teardown import down
from tests.support.infra_env import (
    DB_PASSWORD,
    GRAFANA_PASSWORD,
    SECRET_VALUES,
    contains_secret,
    project_copy,
    settings_for,
    stack_for,
)
from tests.support.k8s_api_server import KubeApiServer
from tests.support.k8s_store import RESOURCE_TYPES, ResourceType

pytestmark = pytest.mark.integration
NS = "sphinx"


@pytest.fixture
def server() -> Iterator[KubeApiServer]:
    with KubeApiServer() as srv:
        yield srv


@pytest.fixture
def kubeconfig(server: KubeApiServer, tmp_path: Path) -> Path:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def stack(kubeconfig: Path) -> Iterator[StackContext]:
    with stack_for(settings_for("mainnet"), kubeconfig) as ctx:
        yield ctx


def server_type(kind: str) -> ResourceType:
    return next(r for r in RESOURCE_TYPES if r.kind == kind)


def _applies(server: KubeApiServer) -> list:
    return [r for r in server.requests if r.method == "PATCH" and r.query.get("dryRun") != "All"]


def _secret_value(server: KubeApiServer, name: str, key: str) -> str:
    secret = server.find("Secret", name, NS)
    assert secret is not None
    return base64.b64decode(secret["data"][key]).decode()


def test_up_applies_everything_server_side_in_install_order(
    server: KubeApiServer, stack: StackContext
) -> None:
    result = up(stack)
    assert result.revision == 1 and result.recorded_revision
    assert {c.action for c in result.changes} == {"create"} and len(result.changes) > 30
    applies = _applies(server)
    assert all(r.content_type == "application/apply-patch+yaml" for r in applies)
    assert all(r.query["fieldManager"] == "sphinxctl" for r in applies)
    assert all(r.query["fieldValidation"] == "Strict" for r in applies)
    kinds = [
        json.loads(r.body)["kind"]
        for r in applies
        if "sphinxctl" not in json.loads(r.body)["metadata"]["name"]
    ]
    assert kinds == sorted(kinds, key=kind_rank)
    api_body = next(
        json.loads(r.body) for r in applies if r.path.endswith("deployments/sphinx-api")
    )
    assert "replicas" not in api_body["spec"]
    live = server.find("Deployment", "sphinx-api", NS)
    assert live is not None
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["sphinxctl"]
    assert _secret_value(server, "postgres-credentials", "POSTGRES_PASSWORD") == DB_PASSWORD


def test_second_up_changes_nothing(server: KubeApiServer, stack: StackContext) -> None:
    up(stack)
    writes = server.store.writes
    again = up(stack)
    assert {c.action for c in again.changes} == {"unchanged"}
    assert (again.revision, again.recorded_revision) == (1, False)
    assert server.store.writes == writes
    assert len(history(stack).revisions) == 1


def test_up_leaves_the_replica_count_to_the_autoscaler(
    server: KubeApiServer, stack: StackContext
) -> None:
    up(stack)
    server.store.apply(
        server_type("Deployment"),
        NS,
        "sphinx-api",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "sphinx-api"},
            "spec": {"replicas": 17},
        },
        "horizontal-pod-autoscaler",
        force=True,
        dry_run=False,
        operation="Update",
    )
    result = up(stack)
    assert not result.changed
    live = server.find("Deployment", "sphinx-api", NS)
    assert live is not None and live["spec"]["replicas"] == 17


def test_a_removed_manifest_is_pruned(
    server: KubeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    project = project_copy(tmp_path / "project")
    with stack_for(settings_for("mainnet"), kubeconfig, project) as ctx:
        up(ctx)
        assert server.find("StatefulSet", "redis", NS) is not None
        (project / "manifests" / "redis.yaml").unlink()
        result = up(ctx)
    pruned = {c.object for c in result.changes if c.action == "prune"}
    assert pruned == {"StatefulSet/sphinx/redis", "Service/sphinx/redis"}
    assert server.find("StatefulSet", "redis", NS) is None
    assert server.find("Service", "redis", NS) is None
    assert server.find("StatefulSet", "postgres", NS) is not None
    assert result.revision == 2 and result.recorded_revision


def test_pruning_keeps_claims_and_never_touches_objects_of_other_tools(
    server: KubeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    project = project_copy(tmp_path / "project")
    with stack_for(settings_for("mainnet"), kubeconfig, project) as ctx:
        up(ctx)
        server.store.apply(
            server_type("ConfigMap"),
            NS,
            "someone-elses",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "someone-elses"}},
            "kubectl",
            force=True,
            dry_run=False,
        )
        (project / "manifests" / "backup.yaml").unlink()
        result = up(ctx)
    actions = {c.object: c.action for c in result.changes}
    assert actions["CronJob/sphinx/postgres-backup"] == "prune"
    assert actions["PersistentVolumeClaim/sphinx/postgres-backups"] == "keep"
    assert server.find("PersistentVolumeClaim", "postgres-backups", NS) is not None
    assert server.find("ConfigMap", "someone-elses", NS) is not None


def test_dry_run_changes_nothing_and_reports_what_would_change(
    server: KubeApiServer, stack: StackContext
) -> None:
    first = up(stack, dry_run=True)
    assert {c.action for c in first.changes} == {"create"} and server.store.writes == 0
    up(stack)
    writes = server.store.writes
    stack.settings.kubernetes.image = "ghcr.io/sphinx/api:0.2.0"
    preview = up(stack, dry_run=True)
    changed = {c.object for c in preview.changes if c.action != "unchanged"}
    # A new image is a new migration Job (its pod template is immutable): create one, prune one.
    jobs = {
        c.action for c in preview.changes if c.object.startswith("Job/sphinx/sphinx-db-migrate-")
    }
    assert jobs == {"create", "prune"}
    changed = {c for c in changed if not c.startswith("Job/")}
    assert changed == {"Deployment/sphinx/sphinx-api", "ConfigMap/sphinx/sphinx-api-config"}
    assert server.store.writes == writes
    assert any(r.query.get("dryRun") == "All" for r in server.requests)


def test_diff_shows_changes_and_masks_secret_values(
    server: KubeApiServer, kubeconfig: Path
) -> None:
    with stack_for(settings_for("mainnet"), kubeconfig) as ctx:
        up(ctx)
        assert {o.action for o in diff(ctx).objects} == {"unchanged"}
    changed = settings_for("mainnet", SPHINX_GRAFANA_PASSWORD="Zq7-new-grafana-pw")
    changed.kubernetes.image = "ghcr.io/sphinx/api:0.2.0"
    with stack_for(changed, kubeconfig) as ctx:
        result = diff(ctx)
    by_object = {o.object: o for o in result.objects}
    deployment = by_object["Deployment/sphinx/sphinx-api"]
    assert deployment.action == "configure"
    assert "-        image: ghcr.io/sphinx/api:0.1.0" in deployment.diff
    assert "+        image: ghcr.io/sphinx/api:0.2.0" in deployment.diff
    secret = by_object["Secret/sphinx/grafana-admin"].diff
    assert "admin-password: '******** (before)'" in secret
    assert "admin-password: '******** (after)'" in secret
    text = json.dumps([o.model_dump() for o in result.objects])
    assert contains_secret(text) == [] and "Zq7-new-grafana-pw" not in text
    assert base64.b64encode(GRAFANA_PASSWORD.encode()).decode() not in text
    assert _secret_value(server, "grafana-admin", "admin-password") == GRAFANA_PASSWORD


def test_wait_reports_progress_until_workloads_are_ready(
    server: KubeApiServer, kubeconfig: Path
) -> None:
    server.store.auto_ready_after = 2
    events: list[ProgressEvent] = []
    with stack_for(settings_for("mainnet"), kubeconfig, events=events) as ctx:
        result = up(ctx, wait=True, timeout=30)
        assert result.waited
        assert status(ctx).ready
    waits = [e for e in events if e.phase == "wait"]
    # every workload and claim of the stack, Alertmanager, the exporters and kube-state-metrics
    # included
    assert waits[0].ready == 0 and waits[-1].ready == waits[-1].total == 10
    assert waits[-1].message == "all ready"
    assert any(e.phase == "apply" for e in events) and any(e.phase == "revision" for e in events)


def test_wait_times_out_naming_what_is_not_ready(
    server: KubeApiServer, stack: StackContext
) -> None:
    with pytest.raises(KubernetesError) as err:
        up(stack, wait=True, timeout=0.05)
    assert err.value.reference == "kubernetes-wait-timeout"
    assert "Deployment/sphinx/sphinx-api" in err.value.message
    assert "StatefulSet/sphinx/postgres" in err.value.details["pending"]


def test_status_before_and_after_readiness(server: KubeApiServer, stack: StackContext) -> None:
    before = status(stack)
    assert before.revision is None and not any(o.exists for o in before.objects)
    up(stack)
    assert not status(stack).ready
    server.mark_ready()
    after = status(stack)
    assert after.ready and after.revision == 1
    rows = {o.object: o for o in after.objects}
    assert rows["PersistentVolumeClaim/sphinx/postgres-backups"].detail == "bound"


def test_history_and_rollback_restore_an_earlier_revision(
    server: KubeApiServer, stack: StackContext
) -> None:
    up(stack)
    stack.settings.kubernetes.image = "ghcr.io/sphinx/api:0.2.0"
    assert up(stack).revision == 2
    back = rollback(stack)
    assert back.revision == 3
    image = server.find("Deployment", "sphinx-api", NS)["spec"]["template"]["spec"]  # type: ignore[index]
    assert image["containers"][0]["image"] == "ghcr.io/sphinx/api:0.1.0"
    assert _secret_value(server, "postgres-credentials", "POSTGRES_PASSWORD") == DB_PASSWORD
    revisions = history(stack).revisions
    assert [(r.revision, r.status, r.description) for r in revisions] == [
        (1, "superseded", "install"),
        (2, "superseded", "upgrade"),
        (3, "deployed", "rollback to 1"),
    ]
    rollback(stack, to=2)
    image = server.find("Deployment", "sphinx-api", NS)["spec"]["template"]["spec"]  # type: ignore[index]
    assert image["containers"][0]["image"] == "ghcr.io/sphinx/api:0.2.0"
    with pytest.raises(UsageError, match="no revision 9"):
        rollback(stack, to=9)


def test_rollback_takes_secret_values_from_the_environment_of_the_moment(
    server: KubeApiServer, kubeconfig: Path
) -> None:
    with stack_for(settings_for("mainnet"), kubeconfig) as ctx:
        up(ctx)
        ctx.settings.kubernetes.image = "ghcr.io/sphinx/api:0.2.0"
        up(ctx)
    rotated = settings_for("mainnet", SPHINX_GRAFANA_PASSWORD="Zq7-rotated-pw")
    with stack_for(rotated, kubeconfig) as ctx:
        rollback(ctx, to=1)
    assert _secret_value(server, "grafana-admin", "admin-password") == "Zq7-rotated-pw"


def test_secret_values_never_reach_revisions_history_or_logs(
    server: KubeApiServer, stack: StackContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    up(stack)
    stack.settings.kubernetes.image = "ghcr.io/sphinx/api:0.2.0"
    up(stack)
    rollback(stack)
    shown = history(stack, show=1)
    diff(stack)
    status(stack)
    assert contains_secret(json.dumps(shown.model_dump())) == []
    assert contains_secret(caplog.text) == []
    for secret in server.objects("Secret", NS):
        if secret["metadata"]["name"].startswith("sphinxctl.v"):
            payload = gzip.decompress(base64.b64decode(secret["data"]["release"])).decode()
            assert contains_secret(payload) == [] and "********" in payload
    carriers = {r.path.rsplit("/", 1)[-1] for r in server.requests if contains_secret(r.body)}
    assert carriers == {
        "sphinx-api-env",
        "postgres-credentials",
        "grafana-admin",
        "exporter-credentials",
    }


def test_down_keeps_volumes_and_namespace_unless_asked(
    server: KubeApiServer, stack: StackContext
) -> None:
    up(stack)
    with pytest.raises(UsageError, match="deletes the volumes") as err:
        down(stack, delete_namespace=True)
    assert "--delete-volumes" in (err.value.hint or "")
    result = down(stack)
    kept = {c.object for c in result.changes if c.action == "keep"}
    assert kept == {"PersistentVolumeClaim/sphinx/postgres-backups", "Namespace/sphinx"}
    left = {f"{o['kind']}/{o['metadata']['name']}" for o in server.objects(namespace=NS)}
    assert left == {
        "PersistentVolumeClaim/data-postgres-0",
        "PersistentVolumeClaim/postgres-backups",
    }
    assert server.find("Namespace", NS) is not None
    assert history(stack).revisions == []
    up(stack)
    down(stack, delete_volumes=True, delete_namespace=True)
    assert server.find("Namespace", NS) is None and server.objects(namespace=NS) == []


def test_injected_5xx_and_409_are_retried(server: KubeApiServer, stack: StackContext) -> None:
    unavailable = server.inject(503, method="PATCH", times=2)
    conflict = server.inject(409, method="PATCH", path_contains="deployments", times=2)
    flaky_get = server.inject(500, method="GET", path_contains="/secrets", times=1)
    result = up(stack)
    assert result.revision == 1
    assert (unavailable.hits, conflict.hits, flaky_get.hits) == (2, 2, 1)
    assert server.find("Deployment", "sphinx-api", NS) is not None


def test_persistent_5xx_becomes_a_clear_error_after_bounded_retries(
    server: KubeApiServer, stack: StackContext
) -> None:
    fault = server.inject(503, method="PATCH", path_contains="configmaps", times=100)
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert fault.hits == stack.api.retry.attempts == 5
    assert "HTTP 503 ServiceUnavailable" in err.value.message
    assert "after 5 attempts" in err.value.message
    assert err.value.exit_code == 5
    assert history(stack).revisions[-1].status == "failed"


def test_error_text_from_the_server_is_scrubbed_of_secret_values(
    server: KubeApiServer, stack: StackContext
) -> None:
    server.inject(
        422,
        method="PATCH",
        path_contains="secrets",
        times=5,
        message=f"field stringData has value {DB_PASSWORD!r}",
    )
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert DB_PASSWORD not in err.value.message
    assert "field stringData has value '********'" in err.value.message
    assert "Secret sphinx/" in err.value.message  # ordinary words survive the scrub


def test_a_real_field_conflict_is_reported_with_its_manager(
    server: KubeApiServer, stack: StackContext
) -> None:
    up(stack)
    server.store.apply(
        server_type("Service"),
        NS,
        "redis",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "redis"},
            "spec": {"sessionAffinity": "ClientIP"},
        },
        "other-tool",
        force=True,
        dry_run=False,
    )
    stack.settings.kubernetes.redis_image = "redis:7.4.2"
    up(stack)  # no overlap with other-tool's field: fine
    entry = server.store.entries[("", "services", NS, "redis")]
    entry.owners["other-tool"].add(("spec", "ports"))
    entry.obj["spec"]["ports"] = [
        {"name": "redis", "port": 6380, "targetPort": "redis", "protocol": "TCP"}
    ]
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert err.value.reference == "kubernetes-conflict"
    assert 'conflict with "other-tool": .spec.ports' in err.value.message


def test_errors_that_retrying_cannot_fix_are_reported_at_once(
    server: KubeApiServer, stack: StackContext
) -> None:
    forbidden = server.inject(403, method="PATCH", times=5)
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert forbidden.hits == 1
    assert "RBAC" in (err.value.hint or "")


def test_strict_field_validation_rejects_an_unknown_field(
    server: KubeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    project = project_copy(tmp_path / "project")
    path = project / "manifests" / "redis.yaml"
    path.write_text(
        path.read_text().replace(
            "  serviceName: redis\n", "  serviceName: redis\n  replicaCount: 2\n"
        )
    )
    with (
        stack_for(settings_for("mainnet"), kubeconfig, project) as ctx,
        pytest.raises(KubernetesError, match="strict decoding error") as err,
    ):
        up(ctx)
    assert "manifest template" in (err.value.hint or "")


def test_unreachable_cluster_and_bad_context_are_kubernetes_errors(tmp_path: Path) -> None:
    with KubeApiServer() as srv:
        config = srv.write_kubeconfig(tmp_path / "kubeconfig")
    with stack_for(settings_for("mainnet"), config) as ctx, pytest.raises(KubernetesError) as err:
        status(ctx)
    assert err.value.reference == "kubernetes-unreachable"
    with pytest.raises(KubernetesError) as err:
        KubeApi.connect(config, "no-such-context")
    assert err.value.reference == "kubeconfig-invalid"


def test_missing_secrets_stop_up_before_any_request(
    server: KubeApiServer, kubeconfig: Path
) -> None:
    settings = settings_for("testnet", DATABASE_URL="", SPHINX_GRAFANA_PASSWORD="")
    with stack_for(settings, kubeconfig) as ctx, pytest.raises(ConfigError) as err:
        up(ctx)
    assert "database.url#password" in err.value.message
    assert "monitoring.grafana_admin_password" in err.value.message
    assert server.store.writes == 0


def test_every_secret_value_is_distinct_so_the_leak_checks_mean_something() -> None:
    assert len(set(SECRET_VALUES)) == len(SECRET_VALUES)
    assert all(len(value) >= 8 for value in SECRET_VALUES)
