"""Failures of the network and of the chain: an RPC that drops connections, answers too late
and returns 5xx (the deployment completes or stops with a clear message, never duplicating a
transaction), and a transaction stuck in the mempool (replaced with a fee bump, same nonce)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts
from sphinxctl.settings import load_settings
from tests.support.deploy_env import (
    Anvil,
    assert_one_instance_each,
    cli,
    dev_address,
    journal,
    make_project,
    shared_template,
)
from tests.support.flaky_proxy import FAULTS, FlakyProxy

pytestmark = pytest.mark.integration
DEPLOYER = dev_address(0)


@pytest.fixture
def node(clean_env: pytest.MonkeyPatch) -> Iterator[Anvil]:
    started = Anvil(1)
    yield started
    started.stop()


def test_flaky_rpc_completes_or_stops_with_a_clear_message_and_never_duplicates(
    node: Anvil, tmp_path: Path
) -> None:
    # 45% of requests fail (then 20% from the 5th run on): runs stop mid-way with a clear
    # message (seed 2: during preflight, right after a broadcast, ...) and the reruns resume.
    proxy = FlakyProxy(node.port, rate=0.45, delay=0.6, seed=2)
    try:
        project = make_project(
            tmp_path / "project", shared_template(), {"ethereum": proxy.url},
            {"chains": {"ethereum": {"rpc_timeout_seconds": 0.3}}},
        )  # fmt: skip
        exits = []
        for attempt in range(12):
            proxy.rate = 0.45 if attempt < 4 else 0.2
            result = cli(project, "deploy", "contracts", "--yes")
            exits.append(result.exit_code)
            if result.exit_code == 0:
                break
            assert result.exit_code == 4, result.output
            assert "Traceback" not in result.output
            assert "error [rpc-unreachable]: ethereum:" in result.output
            assert "rerun" in result.output
            assert_no_duplicates(project, node)
        assert exits[-1] == 0, exits
        assert set(proxy.injected) == set(FAULTS), proxy.injected
        assert_one_instance_each(project, {"ethereum": node}, DEPLOYER)
        assert node.nonce(DEPLOYER) == 7
        proxy.enabled = False
        again = cli(project, "deploy", "contracts", "--yes", "-o", "json")
        assert again.exit_code == 0 and json.loads(again.stdout)["sent"] == 0, again.output
    finally:
        proxy.close()


def assert_no_duplicates(project: Path, node: Anvil) -> None:
    """After a stopped run: the chain never holds more deployer transactions than the journal,
    and no contract was created twice."""
    path = project / "deployments" / "local.json"
    if not path.exists():
        assert node.nonce(DEPLOYER) == 0
        return
    txs = journal(project)["chains"]["ethereum"]["transactions"]
    assert node.nonce(DEPLOYER) <= len(txs)
    deploys = [tx["contract"] for tx in txs if tx["kind"] == "deploy"]
    assert len(deploys) == len(set(deploys))


def test_unreachable_rpc_stops_before_signing_with_a_clear_message(tmp_path: Path) -> None:
    from tests.support.deploy_env import free_port

    project = make_project(
        tmp_path / "project", shared_template(), {"ethereum": f"http://127.0.0.1:{free_port()}"}
    )
    result = cli(project, "deploy", "contracts", "--yes")
    assert result.exit_code == 4, result.output
    assert "rpc-unreachable" in result.output and "ethereum" in result.output
    assert not (project / "deployments" / "local.json").exists()


@pytest.fixture
def unmined(clean_env: pytest.MonkeyPatch) -> Iterator[Anvil]:
    """An anvil that mines nothing until told to: every transaction gets stuck."""
    started = Anvil(1, "--no-mining")
    yield started
    started.stop()


def test_stuck_transaction_is_replaced_with_a_fee_bump_at_the_same_nonce(
    unmined: Anvil, tmp_path: Path
) -> None:
    node = unmined
    project = make_project(
        tmp_path / "project", shared_template(), {"ethereum": node.url},
        {"chains": {"ethereum": {"stuck_timeout_seconds": 0.6, "fee_bump_percent": 25}}},
    )  # fmt: skip
    settings = load_settings("local", project / "environments").settings
    outcome: dict[str, object] = {}

    def deploy() -> None:
        try:
            outcome["result"] = deploy_contracts(
                settings, DeployRequest(project_root=project), confirm=lambda _p: True
            )
        except Exception as exc:  # noqa: BLE001 — surfaced by the assertion below
            outcome["error"] = exc

    worker = threading.Thread(target=deploy)
    worker.start()
    path = project / "deployments" / "local.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for the first replacement to reach the node
        if path.exists():
            txs = journal(project)["chains"]["ethereum"]["transactions"]
            # The journal holds an attempt before it is broadcast (write-ahead): mine only once
            # the node has the replacement, or a loaded machine mines the original first.
            if txs and len(txs[0]["attempts"]) >= 2:
                replacement = txs[0]["attempts"][1]["tx_hash"]
                if node.call("eth_getTransactionByHash", replacement) is not None:
                    break
        time.sleep(0.05)
    node.call("evm_mine")
    node.call("evm_setAutomine", True)
    worker.join(timeout=60)
    assert "error" not in outcome and "result" in outcome, outcome

    first = journal(project)["chains"]["ethereum"]["transactions"][0]
    attempts = first["attempts"]
    assert len(attempts) >= 2 and first["nonce"] == 0
    assert attempts[1]["max_fee_per_gas"] >= attempts[0]["max_fee_per_gas"] * 1.25
    assert attempts[1]["max_priority_fee_per_gas"] > attempts[0]["max_priority_fee_per_gas"]
    assert first["tx_hash"] in {a["tx_hash"] for a in attempts[1:]}
    for attempt in attempts:
        if attempt["tx_hash"] != first["tx_hash"]:
            assert node.call("eth_getTransactionReceipt", attempt["tx_hash"]) is None
    assert_one_instance_each(project, {"ethereum": node}, DEPLOYER)
