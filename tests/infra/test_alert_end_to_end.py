"""An alert end to end: Debian's Prometheus and Alertmanager on the configs `infra render`
produces, scraping a real `sphinxctl serve` on a devnet. One anvil node stops -> the blockchain
alert reaches a local webhook; it starts again -> the webhook gets the resolution.

Only what cannot exist outside a cluster is adapted: the API target is static instead of found
through the Kubernetes API, file paths and listen addresses are local. Intervals are shortened
through configuration (scrape/evaluation interval, Alertmanager group timings), never by editing
the rules: the alert keeps its `for: 2m`, so this test takes about two and a half minutes.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sphinxctl.infra.render import Sources, render_objects
from sphinxctl.infra.secret_values import reveal
from sphinxctl.monitoring.rules import load_alert_rules
from tests.support.api_env import DevnetProject, ServeProcess, load
from tests.support.pod_runner import find
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ALERT = "SphinxRpcConnectionLost"
EVALUATION = 1.0  # seconds, through monitoring.scrape_interval / evaluation_interval


class Webhook:
    """A receiver on loopback recording every Alertmanager notification."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, status: str) -> list[dict[str, Any]]:
        return [
            alert
            for note in list(self.notifications)
            for alert in note["alerts"]
            if alert["status"] == status and alert["labels"].get("alertname") == ALERT
        ]

    def close(self) -> None:
        self.server.shutdown()


def _wait(check: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


class Daemon:
    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[dict[str, Any]]:
    webhook = Webhook()
    daemons: list[Daemon] = []
    with RedisServer() as redis:
        devnet = DevnetProject(redis.url)
        try:
            devnet.start()
            config_dir = devnet.variant(
                api={"chain_poll_seconds": 0.5},
                monitoring={
                    "scrape_interval": "1s",
                    "evaluation_interval": "1s",
                    "receivers": {
                        "webhook_url": webhook.url,
                        "group_wait": "1s",
                        "group_interval": "1s",
                    },
                },
            )
            settings = load(config_dir)
            with ServeProcess(config_dir) as serve:
                objects = render_objects(settings, Sources.under(ROOT))
                # Only Alertmanager's Secret is needed here (no database in this stack).
                secret = reveal([find(objects, "Secret", "alertmanager-config")], settings)[0]
                am_port, prom_port = free_port(), free_port()
                am_config = tmp_path / "alertmanager.yml"
                am_config.write_text(secret["stringData"]["alertmanager.yml"])
                rules_dir = tmp_path / "rules"
                rules_dir.mkdir()
                for name, text in find(objects, "ConfigMap", "prometheus-rules")["data"].items():
                    (rules_dir / name).write_text(text)
                prom = yaml.safe_load(
                    find(objects, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
                )
                prom["rule_files"] = [str(rules_dir / "*.yaml")]
                prom["alerting"]["alertmanagers"][0]["static_configs"] = [
                    {"targets": [f"127.0.0.1:{am_port}"]}
                ]
                api_job = next(j for j in prom["scrape_configs"] if j["job_name"] == "sphinx-api")
                api_job.pop("kubernetes_sd_configs")
                api_job.pop("relabel_configs")
                api_job["static_configs"] = [{"targets": [f"127.0.0.1:{serve.port}"]}]
                prom["scrape_configs"] = [api_job]
                prom_config = tmp_path / "prometheus.yml"
                prom_config.write_text(yaml.safe_dump(prom))

                daemons.append(Daemon([
                    "prometheus-alertmanager", f"--config.file={am_config}",
                    f"--storage.path={tmp_path / 'am'}",
                    f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                ], tmp_path / "alertmanager.log"))  # fmt: skip
                daemons.append(Daemon([
                    "prometheus", f"--config.file={prom_config}",
                    f"--storage.tsdb.path={tmp_path / 'prom'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ], tmp_path / "prometheus.log"))  # fmt: skip
                _wait(lambda: _ready(f"http://127.0.0.1:{am_port}/-/ready"), 30, "alertmanager")
                _wait(lambda: _ready(f"http://127.0.0.1:{prom_port}/-/ready"), 30, "prometheus")
                yield {"devnet": devnet, "webhook": webhook, "prometheus": prom_port}
        finally:
            for daemon in daemons:
                daemon.stop()
            webhook.close()
            devnet.destroy()


def _connected(prom_port: int) -> dict[str, float]:
    reply = httpx.get(
        f"http://127.0.0.1:{prom_port}/api/v1/query",
        params={"query": 'sphinxos_blockchain_connected{job="sphinx-api"}'},
        timeout=5,
    ).json()
    return {r["metric"]["chain"]: float(r["value"][1]) for r in reply["data"]["result"]}


def test_a_stopped_node_pages_the_webhook_and_its_restart_resolves_it(
    monitored: dict[str, Any],
) -> None:
    devnet: DevnetProject = monitored["devnet"]
    webhook: Webhook = monitored["webhook"]
    rule = next(r for r in load_alert_rules(ROOT) if r.name == ALERT)
    assert rule.for_ is not None
    units = {"s": 1, "m": 60, "h": 3600}
    hold = int(rule.for_[:-1]) * units[rule.for_[-1]]

    _wait(lambda: _connected(monitored["prometheus"]).get("ethereum") == 1, 30, "first scrape")
    assert webhook.alerts("firing") == []

    stopped = time.monotonic()
    devnet.stop_node("ethereum")  # returns once anvil has exited, which can take seconds
    # The poller notices within its interval, Prometheus within a scrape, then `for:` runs;
    # Alertmanager's group_wait (1 s) and one evaluation interval are the rest.
    _wait(lambda: webhook.alerts("firing"), hold + 30, f"{ALERT} at the webhook")
    fired = time.monotonic() - stopped
    alert = webhook.alerts("firing")[0]
    assert alert["labels"]["chain"] == "ethereum"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["team"] == "blockchain"
    assert hold <= fired
    print(f"\n{ALERT} reached the webhook {fired:.1f} s after the node stopped (for: {hold} s)")

    restarted = time.monotonic()
    devnet.restart_nodes()
    _wait(lambda: webhook.alerts("resolved"), 60, f"{ALERT} resolved")
    resolved = time.monotonic() - restarted
    assert webhook.alerts("resolved")[0]["labels"]["chain"] == "ethereum"
    print(f"resolved {resolved:.1f} s after the restart")
