"""`infra rollout` against the Kubernetes API test server and a real Prometheus scraping three
real `sphinxctl serve` processes (stable, a healthy canary, a canary answering 503; see
tests/support/rollout_env.py). Pauses are 2-3 s, Prometheus scrapes every second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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
from sphinxctl.infra.rollout_models import RolloutEvent
from sphinxctl.infra.rollout_state import RECORD_KEY, RECORD_NAME
from sphinxctl.settings import Settings
from sphinxctl.store import Store
from tests.support.infra_env import ENVIRON, project_copy, settings_for, stack_for
from tests.support.k8s_api_server import KubeApiServer
from tests.support.k8s_store import RESOURCE_TYPES
from tests.support.ports import free_port
from tests.support.postgres_server import PostgresServer, postgres_server  # noqa: F401
from tests.support.redis_server import shared_redis
from tests.support.rollout_env import Tracks

pytestmark = pytest.mark.integration
NS = "sphinx-testnet"
NEW = "ghcr.io/sphinx/api:0.2.0"
OLD = "ghcr.io/sphinx/api:0.1.0"
HPA_REPLICAS = 4


@pytest.fixture(scope="module")
def tracks() -> Iterator[Tracks]:
    started = Tracks(shared_redis().url).start()
    try:
        started.wait_for_samples()
        yield started
    finally:
        started.stop()


@pytest.fixture
def server() -> Iterator[KubeApiServer]:
    with KubeApiServer() as srv:
        srv.store.auto_ready_after = 0
        yield srv


@pytest.fixture
def kubeconfig(server: KubeApiServer, tmp_path: Path) -> Path:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


def gates(tracks: Tracks, canary: str, **changes: Any) -> dict[str, Any]:
    assert tracks.prometheus is not None
    return {
        "prometheus_url": tracks.prometheus.url,
        "stable_selector": 'track="stable"',
        "canary_selector": f'track="{canary}"',
        "pause_seconds": 2.0,
        "min_requests": 5,
        "ready_timeout_seconds": 10.0,
        "query_attempts": 2,
        **changes,
    }


def with_gates(settings: Settings, values: dict[str, Any]) -> Settings:
    return settings.model_copy(update={"rollout": settings.rollout.model_validate(values)})


def deployed_stack(server: KubeApiServer, settings: Settings, kubeconfig: Path) -> None:
    """`infra up`, then the HPA's replica count on the stable (as the autoscaler writes it)."""
    with stack_for(settings, kubeconfig) as ctx:
        up(ctx)
    deployment = next(r for r in RESOURCE_TYPES if r.kind == "Deployment")
    server.store.apply(
        deployment,
        NS,
        "sphinx-api",
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sphinx-api"},
         "spec": {"replicas": HPA_REPLICAS}},
        "horizontal-pod-autoscaler",
        force=True, dry_run=False, operation="Update",
    )  # fmt: skip


def image(server: KubeApiServer, name: str = "sphinx-api") -> str:
    live = server.find("Deployment", name, NS)
    assert live is not None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def replicas(server: KubeApiServer, name: str) -> int | None:
    live = server.find("Deployment", name, NS)
    return None if live is None else int(live["spec"].get("replicas", 1))


def record(server: KubeApiServer) -> dict[str, Any]:
    found = server.find("ConfigMap", RECORD_NAME, NS)
    assert found is not None
    return dict(json.loads(found["data"][RECORD_KEY]))


def canary_replica_writes(server: KubeApiServer) -> list[int]:
    """spec.replicas of every write to the canary Deployment, in order."""
    seen = []
    for request in server.requests:
        canary = request.path.endswith("/deployments/sphinx-api-canary")
        if request.method == "PATCH" and canary and request.query.get("dryRun") != "All":
            seen.append(int(json.loads(request.body)["spec"]["replicas"]))
    return seen


def run(settings: Settings, kubeconfig: Path, request: RolloutRequest) -> Any:
    events: list[RolloutEvent] = []
    with stack_for(settings, kubeconfig) as ctx:
        rollout = Rollout(ctx=ctx, prometheus=Prometheus.from_settings(settings.rollout))
        rollout.notify = events.append
        return rollout.run(request), events, ctx


def test_a_healthy_canary_walks_every_step_and_is_promoted(
    tracks: Tracks, server: KubeApiServer, kubeconfig: Path
) -> None:
    settings = with_gates(settings_for("testnet"), gates(tracks, "canary-good"))
    deployed_stack(server, settings, kubeconfig)
    result, events, _ = run(settings, kubeconfig, RolloutRequest(image=NEW))
    assert result.outcome == "promoted", result.message
    verdicts = [v for v in result.rollout.verdicts]
    assert [(v.share, v.passed) for v in verdicts] == [(10, True), (50, True), (100, True)]
    assert all(v.canary.requests >= 5 and v.canary.error_ratio == 0 for v in verdicts)
    # the stable process here keeps its traffic at 100 % (the test cluster runs no pods), so
    # every step compares with it; the previous-step baseline is covered by the unit tests
    assert {v.baseline for v in verdicts} == {"stable"}
    # 1 of 5 pods, then 4 of 8, then the canary alone at the stable's size
    assert canary_replica_writes(server) == [1, 4, 4]
    assert image(server) == NEW and replicas(server, "sphinx-api") == HPA_REPLICAS
    assert server.find("Deployment", "sphinx-api-canary", NS) is None
    progress = [e for e in events if e.kind == "progress"]
    assert progress and all(e.seconds_left is not None for e in progress)
    assert any(e.stable is not None and e.canary is not None for e in progress)
    with stack_for(settings, kubeconfig) as ctx:
        revisions = history(ctx).revisions
    assert revisions[-1].description.endswith(f"promote {NEW}")
    assert record(server)["phase"] == "promoted"


def cli_project(tmp_path: Path, values: dict[str, Any]) -> Path:
    project = project_copy(tmp_path / "project")
    path = project / "environments" / "testnet.yaml"
    config = yaml.safe_load(path.read_text())
    config["rollout"] = values
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


def test_a_canary_answering_5xx_is_rolled_back_at_the_first_step(
    tracks: Tracks,
    server: KubeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    audit_db: AuditDb,
) -> None:
    values = gates(tracks, "canary-bad")
    project = cli_project(tmp_path, values)
    deployed_stack(server, with_gates(settings_for("testnet"), values), kubeconfig)
    result = CliRunner().invoke(
        app,
        ["--config-dir", str(project / "environments"), "-e", "testnet", "-o", "json", "infra",
         "rollout", "--image", NEW, "--yes", "--kubeconfig", str(kubeconfig)],
    )  # fmt: skip
    assert result.exit_code == 3, result.stderr
    body = json.loads(result.stdout)
    assert body["outcome"] == "rolled-back"
    (verdict,) = body["rollout"]["verdicts"]
    assert verdict["share"] == 10 and not verdict["passed"]
    assert verdict["canary"]["error_ratio"] > 0.9 and verdict["stable"]["error_ratio"] == 0
    assert "canary 5xx ratio" in body["message"] and "stable 0.00%" in body["message"]
    assert "rollout-rolled-back" in result.stderr and "FAILED" in result.stderr
    assert replicas(server, "sphinx-api-canary") == 0
    assert (image(server), replicas(server, "sphinx-api")) == (OLD, HPA_REPLICAS)
    shown = CliRunner().invoke(
        app,
        ["--config-dir", str(project / "environments"), "-e", "testnet", "infra", "rollout",
         "status", "--kubeconfig", str(kubeconfig)],
    )  # fmt: skip
    assert shown.exit_code == 0 and "rolled-back" in shown.stdout and "failed" in shown.stdout
    assert f"{verdict['canary']['error_ratio']:.2%}" in shown.stdout
    assert audit_db.actions() == [
        ("infra.rollout.start", "ok"),
        ("infra.rollout.verdict", "failed"),
        ("infra.rollout.abort", "ok"),
    ]


def test_kill_during_a_step_then_rerun_continues_without_doubling_or_skipping(
    tracks: Tracks,
    server: KubeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    audit_db: AuditDb,
) -> None:
    project = cli_project(tmp_path, gates(tracks, "canary-good", pause_seconds=3.0))
    deployed_stack(server, with_gates(settings_for("testnet"), gates(tracks, "x")), kubeconfig)
    args = ["--config-dir", str(project / "environments"), "-e", "testnet", "infra", "rollout",
            "--yes", "--kubeconfig", str(kubeconfig)]  # fmt: skip
    first = subprocess.Popen(
        [str(Path(sys.executable).with_name("sphinxctl")), *args, "--image", NEW],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = server.find("ConfigMap", RECORD_NAME, NS)
        if found and json.loads(found["data"][RECORD_KEY])["step_started_at"] is not None:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # inside step 1's pause
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed = record(server)
    assert (killed["phase"], killed["step_index"], killed["verdicts"]) == ("progressing", 0, [])
    result = CliRunner().invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["outcome"] == "promoted" and "resuming rollout" in result.stderr
    assert [v["share"] for v in body["rollout"]["verdicts"]] == [10, 50, 100]
    assert canary_replica_writes(server) == [1, 1, 4, 4]  # step 1 again at the same count
    assert max(canary_replica_writes(server)) <= HPA_REPLICAS
    assert image(server) == NEW
    actions = [a for a, _ in audit_db.actions()]
    assert actions[:2] == ["infra.rollout.start", "infra.rollout.resume"]
    assert actions.count("infra.rollout.verdict") == 3 and actions[-1] == "infra.rollout.promote"


def test_prometheus_unreachable_pauses_then_the_rerun_resumes(
    tracks: Tracks, server: KubeApiServer, kubeconfig: Path
) -> None:
    healthy = gates(tracks, "canary-good")
    closed = with_gates(settings_for("testnet"), {**healthy, "prometheus_url":
                        f"http://127.0.0.1:{free_port()}", "pause_seconds": 1.0})  # fmt: skip
    deployed_stack(server, closed, kubeconfig)
    paused, events, _ = run(closed, kubeconfig, RolloutRequest(image=NEW, steps=[50, 100]))
    assert paused.outcome == "paused" and "did not answer" in paused.message
    assert any("not answering" in e.message for e in events if e.kind == "progress")
    assert record(server)["phase"] == "paused" and record(server)["verdicts"] == []
    assert image(server) == OLD and replicas(server, "sphinx-api-canary") == 4
    resumed, _, _ = run(with_gates(settings_for("testnet"), healthy), kubeconfig, RolloutRequest())
    assert resumed.outcome == "promoted" and image(server) == NEW
    assert [v.share for v in resumed.rollout.verdicts] == [50, 100]


def test_dry_run_changes_nothing(tracks: Tracks, server: KubeApiServer, kubeconfig: Path) -> None:
    settings = with_gates(settings_for("testnet"), gates(tracks, "canary-good"))
    deployed_stack(server, settings, kubeconfig)
    writes = server.store.writes
    result, _, _ = run(settings, kubeconfig, RolloutRequest(image=NEW, dry_run=True))
    assert result.outcome == "dry-run"
    assert [(p.share, p.canary_replicas, p.stable_replicas) for p in result.plan] == [
        (10, 1, 4), (50, 4, 4), (100, 4, 0)
    ]  # fmt: skip
    assert server.store.writes == writes
    assert server.find("ConfigMap", RECORD_NAME, NS) is None
    assert any(r.query.get("dryRun") == "All" for r in server.requests)


def test_a_restore_cut_short_is_finished_before_the_next_rollout(
    server: KubeApiServer, kubeconfig: Path
) -> None:
    """Killed while rolling back the 100 % step: stable at 0, canary still full. The next
    rollout first restores, so it sizes its steps on the stable's real replica count."""
    settings = with_gates(
        settings_for("testnet"),
        {"prometheus_url": f"http://127.0.0.1:{free_port()}", "pause_seconds": 0.5,
         "query_attempts": 1, "ready_timeout_seconds": 5.0},
    )  # fmt: skip
    deployed_stack(server, settings, kubeconfig)
    paused, _, _ = run(settings, kubeconfig, RolloutRequest(image=NEW, steps=[100]))
    assert paused.outcome == "paused"
    assert (replicas(server, "sphinx-api-canary"), replicas(server, "sphinx-api")) == (4, 0)
    with stack_for(settings, kubeconfig) as ctx:
        cut_short = state.load(ctx.api, NS)
        assert cut_short is not None
        cut_short.phase = "rolled-back"  # recorded, then killed before the restore ran
        state.save(ctx.api, NS, cut_short)
    again, _, _ = run(settings, kubeconfig, RolloutRequest(image="ghcr.io/sphinx/api:0.3.0"))
    assert again.outcome == "paused" and again.rollout.stable_replicas == HPA_REPLICAS
    assert (replicas(server, "sphinx-api-canary"), replicas(server, "sphinx-api")) == (1, 4)
