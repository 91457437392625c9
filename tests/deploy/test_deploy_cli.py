"""`sphinxctl deploy` refusals, each before anything is signed, each with its own message and
exit code: wrong chain id, insufficient balance, base fee above the ceiling, no terminal
without --yes, a changed plan; the mainnet confirmation where the operator types the name."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy_env import (
    Anvil,
    cli,
    dev_address,
    journal,
    make_project,
    shared_template,
)

pytestmark = pytest.mark.integration
DEPLOYER = dev_address(0)
UNFUNDED_KEY = "0x" + "42" * 32


@pytest.fixture(scope="module")
def module_node() -> Iterator[Anvil]:
    started = Anvil(1)
    yield started
    started.stop()


@pytest.fixture
def node(module_node: Anvil, clean_env: pytest.MonkeyPatch) -> Iterator[Anvil]:
    snapshot = module_node.snapshot()
    yield module_node
    module_node.revert(snapshot)


def _project(
    tmp_path: Path, node: Anvil, overrides: dict[str, Any] | None = None, **kw: Any
) -> Path:
    return make_project(
        tmp_path / "project", shared_template(), {"ethereum": node.url}, overrides, **kw
    )


def _nothing_signed(project: Path, node: Anvil, account: str = DEPLOYER) -> None:
    assert node.nonce(account) == 0
    assert not (project / "deployments" / "local.json").exists()


def test_wrong_chain_id_is_refused_before_signing(node: Anvil, tmp_path: Path) -> None:
    project = _project(tmp_path, node, {"chains": {"ethereum": {"chain_id": 5}}})
    result = cli(project, "deploy", "contracts", "--yes")
    assert result.exit_code == 4, result.output
    assert "[preflight-wrong-chain-id]" in result.output
    assert "serves chain id 1" in result.output and "expects 5" in result.output
    _nothing_signed(project, node)


def test_insufficient_balance_is_refused_before_signing(node: Anvil, tmp_path: Path) -> None:
    from eth_account import Account

    project = _project(tmp_path, node)
    result = cli(
        project, "deploy", "contracts", "--yes", env={"SPHINXCTL_DEPLOYER_KEY": UNFUNDED_KEY}
    )
    assert result.exit_code == 4, result.output
    assert "[preflight-insufficient-balance]" in result.output
    assert "short by" in result.output and "holds 0.000000 ETH" in result.output
    assert UNFUNDED_KEY[2:] not in result.output  # the key is never printed
    _nothing_signed(project, node, Account.from_key(UNFUNDED_KEY).address)


def test_base_fee_above_the_ceiling_is_refused_before_signing(node: Anvil, tmp_path: Path) -> None:
    project = _project(tmp_path, node, {"chains": {"ethereum": {"max_base_fee_gwei": 0.000001}}})
    result = cli(project, "deploy", "contracts", "--yes")
    assert result.exit_code == 4, result.output
    assert "[preflight-base-fee-above-ceiling]" in result.output
    assert "above the ceiling" in result.output
    _nothing_signed(project, node)


def test_no_terminal_and_no_yes_is_refused_before_signing(node: Anvil, tmp_path: Path) -> None:
    project = _project(tmp_path, node)
    result = cli(project, "deploy", "contracts")
    assert result.exit_code == 2, result.output
    assert "[confirmation-required]" in result.output and "--yes" in result.output
    _nothing_signed(project, node)


def test_dry_run_prints_the_cost_table_and_signs_nothing(node: Anvil, tmp_path: Path) -> None:
    project = _project(tmp_path, node)
    result = cli(project, "deploy", "contracts", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    preview = json.loads(result.stdout)["preview"]["chains"][0]
    assert [tx["description"] for tx in preview["txs"]][:3] == [
        "deploy DevnetSPX",
        "deploy SphinxYieldAggregator",
        "deploy SpaceFlightNFT",
    ]
    assert all(tx["gas"] > 21_000 for tx in preview["txs"])
    assert preview["max_cost_wei"] > preview["expected_cost_wei"] > 0
    assert preview["shortfall_wei"] == 0
    _nothing_signed(project, node)


def test_operator_declining_at_the_prompt_signs_nothing(
    node: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sphinxctl.cli.deploy_view.interactive", lambda: True)
    project = _project(tmp_path, node)
    result = cli(project, "deploy", "contracts", input="n\n")
    assert result.exit_code == 1, result.output
    assert "[aborted]" in result.output
    _nothing_signed(project, node)


def test_changed_constructor_arguments_are_refused_not_redeployed(
    node: Anvil, tmp_path: Path
) -> None:
    import yaml

    project = _project(tmp_path, node)
    assert cli(project, "deploy", "contracts", "--yes").exit_code == 0
    config_path = project / "environments" / "local.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["contracts"]["treasury"] = dev_address(8)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = cli(project, "deploy", "contracts", "--yes")
    assert result.exit_code == 4, result.output
    assert "[plan-changed]" in result.output and "already deployed" in result.output
    assert node.nonce(DEPLOYER) == 7  # token, vault, NFT, operator, minter, 2 guardian grants


def test_handover_needs_to_safe_and_verify_needs_a_deployment(node: Anvil, tmp_path: Path) -> None:
    project = _project(tmp_path, node)
    assert cli(project, "deploy", "handover").exit_code == 2
    result = cli(project, "deploy", "verify")
    assert result.exit_code == 4 and "[nothing-deployed]" in result.output


def _existing_token(node: Anvil) -> str:
    """An ERC-20 already on the chain (mainnet plans use the real SPX, never DevnetSPX)."""
    from sphinxctl.solidity.abi import encode_deploy
    from sphinxctl.solidity.artifacts import load_artifacts

    artifact = load_artifacts(shared_template())["DevnetSPX"]
    data = encode_deploy(artifact.bytecode, artifact.abi, [dev_address(9), 10**24])
    tx_hash = node.call("eth_sendTransaction", {"from": dev_address(9), "data": data})
    for _ in range(200):
        receipt = node.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return str(receipt["contractAddress"])
        time.sleep(0.02)
    raise AssertionError("the token was not mined")


def test_mainnet_needs_the_environment_name_typed_and_never_deploys_devnet_spx(
    node: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sphinxctl.cli.deploy_view.interactive", lambda: True)
    token = _existing_token(node)
    project = _project(
        tmp_path, node, {"contracts": {"spx_token": {"ethereum": token}}}, environment="mainnet"
    )
    declined = cli(project, "deploy", "contracts", environment="mainnet", input="yes\n")
    assert declined.exit_code == 1, declined.output
    assert "Type the environment name (mainnet)" in declined.output
    assert node.nonce(DEPLOYER) == 0

    result = cli(project, "deploy", "contracts", environment="mainnet", input="mainnet\n")
    assert result.exit_code == 0, result.output
    section = journal(project, "mainnet")["chains"]["ethereum"]
    assert set(section["contracts"]) == {"SphinxYieldAggregator", "SpaceFlightNFT"}
    aggregator = section["contracts"]["SphinxYieldAggregator"]
    assert aggregator["args"][0].lower() == token.lower()
    assert aggregator["explorer_url"] == f"https://etherscan.io/address/{aggregator['address']}"
    assert node.nonce(DEPLOYER) == 6  # the token, vault, NFT, the guardian on both (local.yaml's)
