"""`infra rollout` against the real control plane (kube-apiserver, controller-manager, kwok
nodes; a namespace per test, requests seen through the fault proxy) and a real Prometheus
scraping three real `sphinxctl serve` processes (stable, a healthy canary, a canary answering
503; see tests/support/rollout_env.py). Pauses are 2-3 s, Prometheus scrapes every second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from sphinxctl.infra import rollout_state as state
from sphinxctl.infra.apply import up
from sphinxctl.infra.queries import history
from sphinxctl.infra.rollout import Rollout, RolloutRequest
from sphinxctl.infra.rollout_analysis import Prometheus
from sphinxctl.infra.rollout_models import RolloutEvent, RolloutRecord
from sphinxctl.infra.rollout_state import RECORD_KEY, RECORD_NAME
from sphinxctl.settings import Settings
from sphinxctl.store import Store
from tests.support.infra_env import ENVIRON, image_ref, project_copy, settings_for, stack_for
from tests.support.k8s_fault_proxy import FaultProxy
from tests.support.k8s_fixtures import Cluster
from tests.support.ports import free_port
from tests.support.postgres_server import PostgresServer, postgres_server  # noqa: F401
from tests.support.redis_server import shared_redis
from tests.support.rollout_env import Tracks

pytestmark = pytest.mark.integration
NEW = image_ref("0.2.0")
OLD = image_ref("0.1.0")
# The HPA's min and max in these tests, so the autoscaler agrees. One stable pod keeps pod
# churn (slow on a loaded machine) low: 1 canary pod at every step, the stable at 0 for 100 %.
# The ratio arithmetic for larger counts is unit-tested (tests/infra/test_rollout_gates.py).
HPA_REPLICAS = 1


@pytest.fixture(scope="module")
def tracks() -> Iterator[Tracks]:
    started = Tracks(shared_redis().url).start()
    try:
        started.wait_for_samples()
        yield started
    finally:
        started.stop()


@dataclass
class K8s:
    """The test's namespace on the real control plane, reached through the fault proxy."""

    cluster: Cluster
    proxy: FaultProxy
    kubeconfig: Path

    @property
    def ns(self) -> str:
        return self.cluster.ns

    def deployment(self, name: str) -> dict[str, Any] | None:
        found = self.cluster.get("apps/v1", "deployments", name)
        return dict(found) if found else None

    def image(self, name: str = "sphinx-api") -> str:
        live = self.deployment(name)
        assert live is not None
        return str(live["spec"]["template"]["spec"]["containers"][0]["image"])

    def replicas(self, name: str) -> int | None:
        live = self.deployment(name)
        return None if live is None else int(live["spec"].get("replicas", 1))

    def record(self) -> dict[str, Any] | None:
        found = self.cluster.get("v1", "configmaps", RECORD_NAME)
        return dict(json.loads(found["data"][RECORD_KEY])) if found else None

    def canary_replica_writes(self) -> list[int]:
        """spec.replicas of every scale of the canary Deployment, in order."""
        return [
            int(json.loads(r.body)["spec"]["replicas"])
            for r in self.proxy.writes()
            if r.method == "PATCH"
            and r.path.endswith("/deployments/sphinx-api-canary")
            and r.content_type.startswith("application/merge-patch")
        ]


@pytest.fixture
def k8s(cluster: Cluster, fault_proxy: FaultProxy, proxied_kubeconfig: Path) -> K8s:
    return K8s(cluster, fault_proxy, proxied_kubeconfig)


def gates(tracks: Tracks, canary: str, **changes: Any) -> dict[str, Any]:
    assert tracks.prometheus is not None
    return {
        "prometheus_url": tracks.prometheus.url,
        "stable_selector": 'track="stable"',
        "canary_selector": f'track="{canary}"',
        "pause_seconds": 2.0,
        "min_requests": 5,
        "p99_tolerance_seconds": 1.0,  # identical servers: p99 differences here are only noise
        "ready_timeout_seconds": 60.0,
        "query_attempts": 2,
        **changes,
    }


def with_gates(
    settings: Settings, values: dict[str, Any], namespace: str, replicas: int = HPA_REPLICAS
) -> Settings:
    kubernetes = settings.kubernetes.model_copy(
        update={"namespace": namespace, "hpa_min_replicas": replicas, "hpa_max_replicas": replicas}
    )
    return settings.model_copy(
        update={"rollout": settings.rollout.model_validate(values), "kubernetes": kubernetes}
    )


def deployed_stack(k8s: K8s, settings: Settings) -> None:
    replicas = settings.kubernetes.hpa_min_replicas
    """`infra up`, then the HPA's replica count on the stable (through /scale, as it does)."""
    with stack_for(settings, k8s.kubeconfig) as ctx:
        up(ctx)
    k8s.cluster.plane.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{k8s.ns}/deployments/sphinx-api/scale",
        {"spec": {"replicas": replicas}},
        content_type="application/merge-patch+json",
    )


def run(settings: Settings, kubeconfig: Path, request: RolloutRequest) -> Any:
    events: list[RolloutEvent] = []
    with stack_for(settings, kubeconfig) as ctx:
        ctx.poll_interval = 0.25  # readiness polls: leave the two cores to the control plane
        rollout = Rollout(ctx=ctx, prometheus=Prometheus.from_settings(settings.rollout))
        rollout.notify = events.append
        return rollout.run(request), events, ctx


def test_a_healthy_canary_walks_every_step_and_is_promoted(tracks: Tracks, k8s: K8s) -> None:
    settings = with_gates(settings_for("testnet"), gates(tracks, "canary-good"), k8s.ns)
    deployed_stack(k8s, settings)
    result, events, _ = run(settings, k8s.kubeconfig, RolloutRequest(image=NEW))
    assert result.outcome == "promoted", result.message
    verdicts = list(result.rollout.verdicts)
    assert [(v.share, v.passed) for v in verdicts] == [(10, True), (50, True), (100, True)]
    assert all(v.canary.requests >= 5 and v.canary.error_ratio == 0 for v in verdicts)
    # the stable serve process keeps its traffic at 100 % (the kwok pods serve nothing), so
    # every step compares with it; the previous-step baseline is covered by the unit tests
    assert {v.baseline for v in verdicts} == {"stable"}
    # 1 canary pod beside 1 stable at every step (the new Deployment's default count, so no
    # scale), the stable at 0 for the 100 % step and back to 1 with the new image
    assert k8s.canary_replica_writes() == []
    assert [p.effective_share for p in result.plan] == [50.0, 50.0, 100.0]
    assert k8s.image() == NEW and k8s.replicas("sphinx-api") == HPA_REPLICAS
    assert k8s.deployment("sphinx-api-canary") is None
    progress = [e for e in events if e.kind == "progress"]
    assert progress and all(e.seconds_left is not None for e in progress)
    assert any(e.stable is not None and e.canary is not None for e in progress)
    with stack_for(settings, k8s.kubeconfig) as ctx:
        revisions = history(ctx).revisions
    assert revisions[-1].description.endswith(f"promote {NEW}")
    assert (k8s.record() or {})["phase"] == "promoted"


def cli_project(tmp_path: Path, values: dict[str, Any], namespace: str) -> Path:
    project = project_copy(tmp_path / "project")
    path = project / "environments" / "testnet.yaml"
    config = yaml.safe_load(path.read_text())
    config["rollout"] = values
    config["kubernetes"].update(
        namespace=namespace, hpa_min_replicas=HPA_REPLICAS, hpa_max_replicas=HPA_REPLICAS
    )
    path.write_text(yaml.safe_dump(config))
    return project


class AuditDb:
    """A fresh, migrated PostgreSQL database: the stack's DATABASE_URL and the audit trail."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.url = server.create_database()
        Store.from_url(self.url).migrate()

    def actions(self) -> list[tuple[str, str]]:
        rows = self.server.execute(
            "SELECT action, result FROM audit_events ORDER BY seq", dbname=self.url.split("/")[-1]
        )
        return [(str(a), str(r)) for a, r in rows]


@pytest.fixture
def audit_db(
    clean_env: pytest.MonkeyPatch,
    postgres_server: PostgresServer,  # noqa: F811
) -> Iterator[AuditDb]:
    """The testnet secrets in the environment, DATABASE_URL on a real PostgreSQL."""
    db = AuditDb(postgres_server)
    for name, value in {**ENVIRON, "DATABASE_URL": db.url.replace("+psycopg", "")}.items():
        clean_env.setenv(name, value)
    yield db
    postgres_server.drop_database(db.url.split("/")[-1])


def cli_args(project: Path, k8s: K8s, *args: str) -> list[str]:
    return ["--config-dir", str(project / "environments"), "-e", "testnet", "infra", "rollout",
            *args, "--kubeconfig", str(k8s.kubeconfig)]  # fmt: skip


def test_a_canary_answering_5xx_is_rolled_back_at_the_first_step(
    tracks: Tracks, k8s: K8s, tmp_path: Path, audit_db: AuditDb
) -> None:
    values = gates(tracks, "canary-bad")
    project = cli_project(tmp_path, values, k8s.ns)
    deployed_stack(k8s, with_gates(settings_for("testnet"), values, k8s.ns))
    result = CliRunner().invoke(app, ["-o", "json", *cli_args(project, k8s, "--image", NEW, "-y")])
    assert result.exit_code == 3, result.stderr
    body = json.loads(result.stdout)
    assert body["outcome"] == "rolled-back"
    (verdict,) = body["rollout"]["verdicts"]
    assert verdict["share"] == 10 and not verdict["passed"]
    assert verdict["canary"]["error_ratio"] > 0.9 and verdict["stable"]["error_ratio"] == 0
    assert "canary 5xx ratio" in body["message"] and "stable 0.00%" in body["message"]
    assert "rollout-rolled-back" in result.stderr and "FAILED" in result.stderr
    assert k8s.replicas("sphinx-api-canary") == 0
    assert (k8s.image(), k8s.replicas("sphinx-api")) == (OLD, HPA_REPLICAS)
    shown = CliRunner().invoke(app, cli_args(project, k8s, "status"))
    assert shown.exit_code == 0 and "rolled-back" in shown.stdout and "failed" in shown.stdout
    assert f"{verdict['canary']['error_ratio']:.2%}" in shown.stdout
    assert audit_db.actions() == [
        ("infra.rollout.start", "ok"),
        ("infra.rollout.verdict", "failed"),
        ("infra.rollout.abort", "ok"),
    ]


def test_kill_during_a_step_then_rerun_continues_without_doubling_or_skipping(
    tracks: Tracks, k8s: K8s, tmp_path: Path, audit_db: AuditDb
) -> None:
    project = cli_project(tmp_path, gates(tracks, "canary-good", pause_seconds=3.0), k8s.ns)
    deployed_stack(k8s, with_gates(settings_for("testnet"), gates(tracks, "x"), k8s.ns))
    args = cli_args(project, k8s, "--yes")
    first = subprocess.Popen(
        [str(Path(sys.executable).with_name("sphinxctl")), *args, "--image", NEW],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        if (k8s.record() or {}).get("step_started_at") is not None:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # inside step 1's pause
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert k8s.replicas("sphinx-api-canary") == 1
    killed = k8s.record() or {}
    assert (killed["phase"], killed["step_index"], killed["verdicts"]) == ("progressing", 0, [])
    started_at = killed["step_started_at"]
    result = CliRunner().invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["outcome"] == "promoted" and "resuming rollout" in result.stderr
    verdicts = body["rollout"]["verdicts"]
    assert [v["share"] for v in verdicts] == [10, 50, 100] and all(v["passed"] for v in verdicts)
    # counts are absolute: the rerun found the canary at its count and set nothing again
    assert k8s.canary_replica_writes() == []
    assert started_at is not None and k8s.image() == NEW
    actions = [a for a, _ in audit_db.actions()]
    assert actions[:2] == ["infra.rollout.start", "infra.rollout.resume"]
    assert actions.count("infra.rollout.verdict") == 3 and actions[-1] == "infra.rollout.promote"


def test_prometheus_unreachable_pauses_then_the_rerun_resumes(tracks: Tracks, k8s: K8s) -> None:
    healthy = gates(tracks, "canary-good")
    closed = {**healthy, "prometheus_url": f"http://127.0.0.1:{free_port()}", "pause_seconds": 1.0}
    settings = with_gates(settings_for("testnet"), closed, k8s.ns)
    deployed_stack(k8s, settings)
    paused, events, _ = run(settings, k8s.kubeconfig, RolloutRequest(image=NEW, steps=[50, 100]))
    assert paused.outcome == "paused" and "did not answer" in paused.message
    assert any("not answering" in e.message for e in events if e.kind == "progress")
    recorded = k8s.record() or {}
    assert recorded["phase"] == "paused" and recorded["verdicts"] == []
    assert k8s.image() == OLD and k8s.replicas("sphinx-api-canary") == 1
    reachable = with_gates(settings_for("testnet"), healthy, k8s.ns)
    resumed, _, _ = run(reachable, k8s.kubeconfig, RolloutRequest())
    assert resumed.outcome == "promoted" and k8s.image() == NEW
    assert [v.share for v in resumed.rollout.verdicts] == [50, 100]


def test_dry_run_changes_nothing(tracks: Tracks, k8s: K8s) -> None:
    settings = with_gates(settings_for("testnet"), gates(tracks, "canary-good"), k8s.ns, 4)
    deployed_stack(k8s, settings)
    k8s.proxy.requests.clear()
    result, _, _ = run(settings, k8s.kubeconfig, RolloutRequest(image=NEW, dry_run=True))
    assert result.outcome == "dry-run"
    assert [(p.share, p.canary_replicas, p.stable_replicas) for p in result.plan] == [
        (10, 1, 4), (50, 4, 4), (100, 4, 0)
    ]  # fmt: skip
    assert k8s.proxy.writes() == []
    assert k8s.record() is None and k8s.deployment("sphinx-api-canary") is None
    assert any(r.query.get("dryRun") == "All" for r in k8s.proxy.requests)


def test_a_restore_cut_short_is_finished_before_the_next_rollout(k8s: K8s) -> None:
    """Killed while rolling back a 100 % step: recorded as rolled back, the stable still at 0.
    The next rollout first restores it, so it sizes its steps on the real replica count."""
    values = {"prometheus_url": f"http://127.0.0.1:{free_port()}", "pause_seconds": 0.5,
              "query_attempts": 1, "ready_timeout_seconds": 60.0}  # fmt: skip
    settings = with_gates(settings_for("testnet"), values, k8s.ns, replicas=2)
    deployed_stack(k8s, settings)
    with stack_for(settings, k8s.kubeconfig) as ctx:
        cut_short = RolloutRecord(
            id="r1", environment="testnet", image=NEW, previous_image=OLD, steps=[100],
            pause_seconds=1, stable_replicas=2, phase="rolled-back", started="-", updated="-",
        )  # fmt: skip
        state.save(ctx.api, k8s.ns, cut_short)
    k8s.cluster.plane.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{k8s.ns}/deployments/sphinx-api/scale",
        {"spec": {"replicas": 0}},
        content_type="application/merge-patch+json",
    )
    again, _, _ = run(settings, k8s.kubeconfig, RolloutRequest(image=image_ref("0.3.0")))
    assert again.outcome == "paused" and again.rollout.stable_replicas == 2
    assert (k8s.replicas("sphinx-api-canary"), k8s.replicas("sphinx-api")) == (1, 2)
