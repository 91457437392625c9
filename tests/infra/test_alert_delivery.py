"""Alert delivery as rendered: Alertmanager's configuration passes Debian's `amtool`, routes by
severity and team, keeps receiver URLs out of every printout; and every series an alert or
recording rule reads is produced by something the stack deploys and Prometheus scrapes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from sphinxctl.infra.alerting import TEAMS, alertmanager_text
from sphinxctl.infra.render import Sources, render_objects, to_yaml
from sphinxctl.monitoring.coverage import defined_metric_names
from sphinxctl.monitoring.rules import load_alert_rules, load_recording_rules, metric_names_in_expr
from sphinxctl.settings import load_settings
from tests.support.ports import free_port
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "http://127.0.0.1:9/hooks/4f1c-secret-token"
SLACK = "https://hooks.slack.example/services/T000/B000/slack-secret-token"
PAGERDUTY = "pd-routing-key-0123456789abcdef"


def _settings(env: str, monkeypatch: pytest.MonkeyPatch, **receivers: str) -> Any:
    for key, value in receivers.items():
        monkeypatch.setenv(f"SPHINXCTL_MONITORING__RECEIVERS__{key.upper()}", value)
    return load_settings(env, ROOT / "environments").settings


@pytest.fixture
def receivers_set(monkeypatch: pytest.MonkeyPatch, clean_env: pytest.MonkeyPatch) -> Any:
    return _settings(
        "local", monkeypatch, webhook_url=WEBHOOK, slack_api_url=SLACK,
        pagerduty_routing_key=PAGERDUTY,
    )  # fmt: skip


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["amtool", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("with_receivers", [True, False])
def test_alertmanager_config_passes_amtool(
    with_receivers: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Any
) -> None:
    receivers = (
        {"webhook_url": WEBHOOK, "slack_api_url": SLACK, "pagerduty_routing_key": PAGERDUTY}
        if with_receivers
        else {}
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_text(_settings("local", monkeypatch, **receivers), reveal=True))
    result = _amtool("check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 inhibit rules" in result.stdout
    assert f"{len(TEAMS) + 2} receivers" in result.stdout


def test_amtool_rejects_a_broken_config(tmp_path: Path) -> None:
    """The check above can fail: a route to a receiver that does not exist."""
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: default\n")
    assert _amtool("check-config", str(config)).returncode != 0


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "team=blockchain"], "critical"),
        (["severity=critical", "team=database"], "critical"),
        (["severity=warning", "team=database"], "team-database"),
        (["severity=warning", "team=security"], "team-security"),
        (["severity=info", "team=business"], "default"),
    ],
)
def test_routes_by_severity_then_team(
    labels: list[str], receiver: str, receivers_set: Any, tmp_path: Path
) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_text(receivers_set, reveal=True))
    result = _amtool("config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_receivers_carry_urls_only_when_set(receivers_set: Any) -> None:
    config = yaml.safe_load(alertmanager_text(receivers_set, reveal=True))
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["critical"]["pagerduty_configs"][0]["routing_key"] == PAGERDUTY
    assert by_name["team-database"]["slack_configs"][0]["channel"] == "#sphinx-database"
    assert all(r["webhook_configs"][0]["url"] == WEBHOOK for r in config["receivers"])
    assert "pagerduty_configs" not in by_name["team-database"]


def test_receiver_secrets_never_leave_the_secret(receivers_set: Any) -> None:
    objects = render_objects(receivers_set, Sources.under(ROOT))
    printed = to_yaml(objects)
    for token in ("4f1c-secret-token", "slack-secret-token", PAGERDUTY):
        assert token not in printed
    secret = next(o for o in objects if o["metadata"]["name"] == "alertmanager-config")
    assert secret["kind"] == "Secret"
    prometheus = next(o for o in objects if o["metadata"]["name"] == "prometheus-config")
    config = yaml.safe_load(prometheus["data"]["prometheus.yml"])
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == [f"alertmanager.{receivers_set.kubernetes.namespace}.svc:9093"]


# --- every series has a producer ----------------------------------------------------------
# kube-state-metrics has no Debian package: its families by the --resources flag that enables them.
KSM_RESOURCE_BY_PREFIX = {
    "kube_deployment_": "deployments",
    "kube_horizontalpodautoscaler_": "horizontalpodautoscalers",
    "kube_pod_": "pods",
}


def _rule_series() -> set[str]:
    rules_root = ROOT
    recordings = load_recording_rules(rules_root)
    recorded = {r.name for r in recordings}
    exprs = [a.expr for a in load_alert_rules(rules_root)] + [r.expr for r in recordings]
    return {n for e in exprs for n in metric_names_in_expr(e)} - recorded


def _scrape_names(url: str, timeout: float = 20.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M)}


def _exporter(argv: list[str], env: dict[str, str], url: str) -> set[str]:
    process = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        return _scrape_names(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _pod_jobs(prometheus_yml: str) -> dict[str, str]:
    """Scrape job -> the app.kubernetes.io/name it keeps."""
    jobs = {}
    for job in yaml.safe_load(prometheus_yml)["scrape_configs"]:
        for relabel in job.get("relabel_configs", []):
            if relabel["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]:
                jobs[job["job_name"]] = relabel["regex"]
    return jobs


def test_every_alert_series_is_produced_by_something_deployed_and_scraped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Any
) -> None:
    series = _rule_series()
    objects = render_objects(_settings("local", monkeypatch), Sources.under(ROOT))
    workloads = ("Deployment", "StatefulSet")
    deployed = {o["metadata"]["name"]: o for o in objects if o["kind"] in workloads}
    config_map = next(o for o in objects if o["metadata"]["name"] == "prometheus-config")
    prometheus_yml = config_map["data"]["prometheus.yml"]
    jobs = _pod_jobs(prometheus_yml)

    with PostgresServer() as pg, RedisServer() as redis:
        pg_port, redis_port = free_port(), free_port()
        dsn = pg.create_database().replace("postgresql+psycopg://", "postgresql://")
        postgres_names = _exporter(
            ["prometheus-postgres-exporter", f"--web.listen-address=127.0.0.1:{pg_port}"],
            {"DATA_SOURCE_NAME": dsn + "?sslmode=disable"},
            f"http://127.0.0.1:{pg_port}/metrics",
        )
        redis_names = _exporter(
            [
                "prometheus-redis-exporter",
                f"-redis.addr={redis.url}",
                f"-web.listen-address=127.0.0.1:{redis_port}",
            ],
            {},
            f"http://127.0.0.1:{redis_port}/metrics",
        )
    producers: dict[str, tuple[str, set[str]]] = {
        "sphinx-api": ("sphinx-api", defined_metric_names()),
        "postgres": ("postgres-exporter", postgres_names),
        "redis": ("redis-exporter", redis_names),
    }
    ksm = deployed["kube-state-metrics"]["spec"]["template"]["spec"]["containers"][0]
    ksm_resources = next(a for a in ksm["args"] if a.startswith("--resources=")).split("=")[1]

    unproduced = []
    for name in sorted(series):
        if name == "up":  # written by Prometheus itself for every target
            continue
        prefix = next((p for p in KSM_RESOURCE_BY_PREFIX if name.startswith(p)), None)
        if prefix is not None:
            assert KSM_RESOURCE_BY_PREFIX[prefix] in ksm_resources.split(","), name
            assert jobs.get("kube-state-metrics") == "kube-state-metrics"
            continue
        job = next((j for j, (_, names) in producers.items() if name in names), None)
        if job is None:
            unproduced.append(name)
            continue
        app = producers[job][0]
        assert jobs.get(job) == app, f"{name}: no scrape job keeps {app} pods"
        assert app in deployed, f"{name}: {app} is not deployed by the stack"
    assert not unproduced, f"series nothing in the stack produces: {unproduced}"
    assert {"pg_up", "redis_up", "sphinxos_proofs_total"} <= series


def test_a_critical_inhibits_the_warning_of_its_symptom_only(
    receivers_set: Any, tmp_path: Path
) -> None:
    """Real Alertmanager on the rendered config: the latency warning is suppressed while its
    critical fires; a warning of another symptom, or of none, still goes out."""
    config = tmp_path / "alertmanager.yml"
    config.write_text(alertmanager_text(receivers_set, reveal=True))
    port = free_port()
    process = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={config}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v2/alerts"
    try:

        def alert(name: str, severity: str, symptom: str | None) -> dict[str, Any]:
            labels = {"alertname": name, "severity": severity, "team": "platform"}
            if symptom:
                labels["symptom"] = symptom
            return {"labels": labels, "annotations": {"summary": name}}

        sent = [
            alert("SphinxApiLatencyP99Critical", "critical", "api-latency"),
            alert("SphinxApiLatencyP99High", "warning", "api-latency"),
            alert("SphinxApiErrorRatioHigh", "warning", "api-errors"),
            alert("SphinxDbSlowQueries", "warning", None),
        ]
        deadline = time.monotonic() + 20
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(
                    urllib.request.Request(
                        base, data=json.dumps(sent).encode(), method="POST",
                        headers={"Content-Type": "application/json"},
                    ),
                    timeout=5,
                )  # fmt: skip
                with urllib.request.urlopen(base, timeout=5) as response:
                    listed = json.loads(response.read())
                states = {a["labels"]["alertname"]: a["status"]["state"] for a in listed}
                if states.get("SphinxApiLatencyP99High") == "suppressed":
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert states == {
            "SphinxApiLatencyP99Critical": "active",
            "SphinxApiLatencyP99High": "suppressed",
            "SphinxApiErrorRatioHigh": "active",
            "SphinxDbSlowQueries": "active",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
