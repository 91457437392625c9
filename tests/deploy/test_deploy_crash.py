"""kill -9 of the deploy process at 24 points (after signing, after the write-ahead record,
after broadcast, after mining, between contracts, between chains): every rerun finishes, every
chain has exactly one instance of each contract (deployer nonce == journaled transactions), and
the journal parses after the crash.

The deploy process is a fork of the test process running the real CLI (fast: no interpreter
start-up); the fault-injection hook `SPHINXCTL_TEST_CRASH_AT=<point>:<n>` makes it SIGKILL
itself at the n-th checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.deploy.journal import read_document
from tests.support.deploy_env import (
    CHAIN_IDS,
    Anvil,
    assert_one_instance_each,
    cli,
    dev_address,
    make_project,
    shared_template,
)

pytestmark = pytest.mark.integration
DEPLOYER = dev_address(0)

# One chain: five transactions (DevnetSPX, aggregator, NFT, two role grants).
SINGLE_CHAIN_POINTS = [
    "signed:1", "signed:3", "signed:5",
    "journaled:1", "journaled:2", "journaled:4", "journaled:5",
    "broadcast:1", "broadcast:2", "broadcast:3", "broadcast:5",
    "mined:1", "mined:3", "mined:4", "mined:5",
    "recorded:1", "recorded:2", "recorded:3", "recorded:5",
    "chain-done:1",
]  # fmt: skip
# Three chains in parallel: counters are global, so these land mid-way on several chains.
THREE_CHAIN_POINTS = ["chain-done:1", "chain-done:2", "broadcast:7", "journaled:11"]


@pytest.fixture(scope="module")
def nodes() -> Iterator[dict[str, Anvil]]:
    started = {name: Anvil(chain_id) for name, chain_id in CHAIN_IDS.items()}
    yield started
    for node in started.values():
        node.stop()


@pytest.fixture
def fresh(nodes: dict[str, Anvil], clean_env: pytest.MonkeyPatch) -> Iterator[dict[str, Anvil]]:
    snapshots = {name: node.snapshot() for name, node in nodes.items()}
    yield nodes
    for name, node in nodes.items():
        node.revert(snapshots[name])


def _killed_at(project: Path, crash_at: str, *args: str) -> None:
    pid = os.fork()
    if pid == 0:  # the deploy process
        code = 98
        try:
            os.environ["SPHINXCTL_TEST_CRASH_AT"] = crash_at
            code = 100 + (cli(project, "deploy", "contracts", "--yes", *args).exit_code or 0)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
        f"the deploy process was not killed at {crash_at} (status {status})"
    )


def _crash_then_resume(
    tmp_path: Path, nodes: dict[str, Anvil], crash_at: str, chains: list[str]
) -> Path:
    project = make_project(
        tmp_path / "project", shared_template(), {name: nodes[name].url for name in chains}
    )
    _killed_at(project, crash_at)
    path = project / "deployments" / "local.json"
    saved: dict[tuple[str, int], str] = {}
    if path.exists():
        json.loads(path.read_text())  # never half-written
        document = read_document(path)
        assert document is not None
        saved = {
            (name, tx.nonce): str(tx.tx_hash)
            for name, section in document.chains.items()
            for tx in section.transactions
            if tx.status in ("signed", "sent")
        }
    result = cli(project, "deploy", "contracts", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verification"]["checks"]
    assert_one_instance_each(project, {name: nodes[name] for name in chains}, DEPLOYER)
    data = json.loads(path.read_text())
    for (name, nonce), tx_hash in saved.items():  # the saved bytes were sent, not re-signed ones
        assert data["chains"][name]["transactions"][nonce]["tx_hash"] == tx_hash
    again = cli(project, "deploy", "contracts", "--yes", "-o", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["sent"] == 0, again.output
    return project


@pytest.mark.parametrize("crash_at", SINGLE_CHAIN_POINTS)
def test_kill_9_then_rerun_deploys_each_contract_exactly_once(
    tmp_path: Path, fresh: dict[str, Anvil], crash_at: str
) -> None:
    _crash_then_resume(tmp_path, fresh, crash_at, ["ethereum"])
    assert fresh["ethereum"].nonce(DEPLOYER) == 7  # incl. 2 guardian grants


@pytest.mark.parametrize("crash_at", THREE_CHAIN_POINTS)
def test_kill_9_between_chains_then_rerun_completes_every_chain_once(
    tmp_path: Path, fresh: dict[str, Anvil], crash_at: str
) -> None:
    _crash_then_resume(tmp_path, fresh, crash_at, list(CHAIN_IDS))
    assert {node.nonce(DEPLOYER) for node in fresh.values()} == {7}
