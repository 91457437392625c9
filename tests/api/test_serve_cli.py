"""`sphinxctl serve`: options, a separate metrics port, several workers, clean metrics."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from tests.support.api_env import (
    DevnetProject,
    LiveServer,
    ServeProcess,
    auth,
    free_port,
    take_snapshot,
)

pytestmark = pytest.mark.integration


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SPHINXCTL_", "SPHINX_"))}


def test_serve_help_lists_its_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--metrics-port"):
        assert option in result.output


def test_serve_refuses_a_metrics_port_equal_to_the_port(offline_project: tuple[Path, Any]) -> None:
    root, _settings = offline_project
    result = CliRunner().invoke(
        app,
        ["--config-dir", str(root / "environments"), "serve", "--port", "9", "--metrics-port", "9"],
    )
    assert result.exit_code == 2
    assert "--metrics-port must differ" in result.output


def _counter(text: str, route: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("sphinxos_requests_total{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_one_worker_serves_metrics_on_its_own_port_too(devnet: DevnetProject) -> None:
    metrics_port = free_port()
    config_dir = devnet.variant()
    with ServeProcess(
        config_dir, "--metrics-port", str(metrics_port), env=clean_environ()
    ) as server:
        assert httpx.get(f"{server.url}/api/v1/contracts").status_code == 401
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    assert _counter(scraped, "/api/v1/contracts") == 1
    assert "sphinxos_pending_transactions" in scraped


def test_two_workers_report_their_requests_together_on_the_metrics_port(
    devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    metrics_port = free_port()
    config_dir = devnet.variant()
    with ServeProcess(
        config_dir, "--workers", "2", "--metrics-port", str(metrics_port), env=clean_environ()
    ) as server:
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            response = httpx.get(f"{server.url}/api/v1/auth/whoami", headers=auth(tokens["viewer"]))
            assert response.status_code == 200
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert _counter(scraped, "/api/v1/auth/whoami") == 20
        pids = set(re.findall(r'pid="(\d+)"', scraped))
        assert len(pids) >= 1
        same = httpx.get(f"{server.url}/metrics").text
        assert _counter(same, "/api/v1/auth/whoami") == 20
        output = server.output()
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert any('"logger":"sphinxctl.api.access"' in line for line in lines)
    assert tokens["viewer"] not in output


def test_a_scrape_after_real_traffic_passes_promtool(
    live_api: LiveServer, devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    api = httpx.Client(base_url=live_api.url, timeout=60)
    with devnet.snapshot():
        api.post(
            "/api/v1/nfts/ethereum/mint",
            headers=auth(tokens["minter"]),
            json={"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "phi_score": 777},
        )
        take_snapshot(api, tokens["operator"], "ethereum")
        api.get("/api/v1/nfts/ethereum/1/rarity-proof", headers=auth(tokens["viewer"]))
    api.get("/api/v1/auth/whoami", headers=auth("not.a.token"))
    api.get(
        "/api/v1/nfts/ethereum/rarity", params={"ids": "<script>"}, headers=auth(tokens["viewer"])
    )
    time.sleep(0.6)  # one poller round
    text = api.get("/metrics").text
    for family in (
        "sphinxos_requests_total",
        "sphinxos_api_latency_seconds_bucket",
        "sphinxos_node_health",
        "sphinxos_blockchain_connected",
        "sphinxos_gas_price_gwei",
        "sphinxos_proof_generation_seconds_count",
        "sphinxos_proof_verification_seconds_count",
        "sphinxos_proof_success_rate",
        "sphinxos_auth_failures_total",
        "sphinxos_suspicious_requests_total",
        "sphinxos_transactions_total",
        "sphinxos_transaction_value_bucket",
        "sphinxos_pending_transactions",
        "sphinxos_active_users",
    ):
        assert f"\n{family}" in text, family
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == ""
