"""Real parts for rollout tests: a private Prometheus (Debian `prometheus`) on a free port
scraping three real `sphinxctl serve` processes, and a traffic thread.

The three processes stand for the tracks of a rollout, told apart by a static `track` label:
`stable`, `canary-good` (same config) and `canary-bad`. The bad canary's fault is a config
switch, not a mock: its Redis URL points at a closed port, so its token-revocation check cannot
run and every authenticated request gets a real 503 from the real server (counted by its own
metrics). Scrape and evaluation interval 1 s, so a window of a few seconds holds data.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.api_env import (
    ServeProcess,
    auth,
    base_config,
    link_project,
    load,
    tokens_for,
    write_config,
)
from tests.support.ports import free_port

TRACKS = ("stable", "canary-good", "canary-bad")


class PrometheusServer:
    """`prometheus` on 127.0.0.1:<free port> with a generated config; a context manager."""

    def __init__(self, targets: dict[str, str], directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "sphinx-api",
                    "static_configs": [
                        {"targets": [address], "labels": {"track": track}}
                        for track, address in targets.items()
                    ],
                }
            ],
        }
        self.config = directory / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = directory / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: run scripts/setup.sh")
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("prometheus did not become ready")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def query(self, promql: str) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5).json()
        return list(body["data"]["result"])


class Traffic:
    """A thread sending authenticated GET /api/v1/auth/whoami to every server in turn."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.urls = urls
        self.headers = auth(token)
        self.statuses: dict[str, list[int]] = {url: [] for url in urls}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                for url in self.urls:
                    try:
                        answer = client.get(f"{url}/api/v1/auth/whoami", headers=self.headers)
                        self.statuses[url].append(answer.status_code)
                    except httpx.HTTPError:
                        self.statuses[url].append(0)
                self._stop.wait(0.03)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class Tracks:
    """Three serve processes, Prometheus scraping their metrics ports, and traffic."""

    def __init__(self, redis_url: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sphinx-rollout-"))
        self.servers: dict[str, ServeProcess] = {}
        self.metrics_ports: dict[str, int] = {}
        self.prometheus: PrometheusServer | None = None
        self.traffic: Traffic | None = None
        self._redis_url = redis_url

    def start(self) -> Tracks:
        good = base_config(self._redis_url)
        bad = base_config(f"redis://127.0.0.1:{free_port()}/0")
        bad["auth"] = good["auth"]  # the same key, so the same tokens verify
        token = ""
        try:
            for track, config in zip(TRACKS, (good, good, bad), strict=True):
                root = self.root / track
                link_project(root)
                config_dir = write_config(root, config)
                if not token:
                    token = tokens_for(load(config_dir), root)["viewer"]
                port = free_port()
                self.metrics_ports[track] = port
                self.servers[track] = ServeProcess(config_dir, "--metrics-port", str(port))
                self.servers[track].start()
            for server in self.servers.values():
                server.wait()
            targets = {t: f"127.0.0.1:{p}" for t, p in self.metrics_ports.items()}
            self.prometheus = PrometheusServer(targets, self.root).__enter__()
            self.traffic = Traffic([s.url for s in self.servers.values()], token).__enter__()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_for_samples(self, timeout: float = 20) -> None:
        """Until Prometheus holds a rate for every track (two scrapes after traffic began)."""
        assert self.prometheus is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.prometheus.query("sum by (track) (rate(sphinxos_requests_total[3s]))")
            if len([r for r in found if float(r["value"][1]) > 0]) == len(TRACKS):
                return
            time.sleep(0.25)
        raise RuntimeError("prometheus holds no request rate for every track")

    def stop(self) -> None:
        if self.traffic is not None:
            self.traffic.__exit__()
        if self.prometheus is not None:
            self.prometheus.__exit__()
        for server in self.servers.values():
            server.__exit__()
        shutil.rmtree(self.root, ignore_errors=True)
