"""A full local deployment to three chains: the devnet starts on demand, every chain gets its
contracts, `deploy verify` passes, and a second run sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.deploy.records import load_record
from tests.support.deploy_env import (
    CHAIN_IDS,
    cli,
    dev_address,
    free_port,
    journal,
    make_project,
    rpc,
    shared_template,
)

pytestmark = pytest.mark.integration
DEPLOYER = dev_address(0)
CONTRACTS = {"DevnetSPX", "SphinxYieldAggregator", "SpaceFlightNFT"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project whose three-chain devnet is NOT running yet (deploy must start it)."""
    ports = {name: free_port() for name in CHAIN_IDS}
    root = make_project(tmp_path_factory.mktemp("local") / "project", shared_template(), ports)
    yield root
    cli(root, "devnet", "down", "--wipe")


def _url(project: Path, chain: str) -> str:
    import yaml

    config = yaml.safe_load((project / "environments" / "local.yaml").read_text())
    return str(config["chains"][chain]["rpc_urls"][0])


def _nonces(project: Path) -> dict[str, int]:
    return {
        name: int(rpc(_url(project, name), "eth_getTransactionCount", [DEPLOYER, "latest"]), 16)
        for name in CHAIN_IDS
    }


def test_full_local_deployment_to_three_chains_verifies_and_reruns_without_sending(
    project: Path, clean_env: pytest.MonkeyPatch
) -> None:
    result = cli(project, "deploy", "contracts", "--yes")
    assert result.exit_code == 0, result.output
    assert "21 transactions sent" in result.output
    assert "starting anvil for ethereum" in result.output

    data = journal(project)
    for name, chain_id in CHAIN_IDS.items():
        section = data["chains"][name]
        assert section["chain_id"] == chain_id
        assert set(section["contracts"]) == CONTRACTS
        assert section["contracts"]["DevnetSPX"]["local_only"] is True
        assert [tx["status"] for tx in section["transactions"]] == ["confirmed"] * 7
        assert all(c["verified"] is True for c in section["contracts"].values())
    nonces = _nonces(project)
    assert nonces == dict.fromkeys(CHAIN_IDS, 7)

    verify = cli(project, "deploy", "verify", "-o", "json")
    assert verify.exit_code == 0, verify.output
    import json

    checks = json.loads(verify.stdout)["checks"]
    assert len(checks) == 9 and all(check["ok"] for check in checks)

    again = cli(project, "deploy", "contracts", "--yes", "-o", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["sent"] == 0
    assert _nonces(project) == nonces

    record = load_record(project, "local")
    assert record is not None
    nft = record.contract("polygon", "SpaceFlightNFT")
    assert nft is not None and nft.verified and nft.block_number
    assert nft.address == data["chains"]["polygon"]["contracts"]["SpaceFlightNFT"]["address"]


def test_status_shows_every_contract_with_confirmations_and_role_holders(
    project: Path, clean_env: pytest.MonkeyPatch
) -> None:
    import json

    result = cli(project, "deploy", "status", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [chain["chain"] for chain in report["chains"]] == list(CHAIN_IDS)
    for chain in report["chains"]:
        assert chain["deployer_nonce"] == chain["journaled_transactions"] == 7
        by_name = {c["name"]: c for c in chain["contracts"]}
        assert set(by_name) == CONTRACTS
        assert all(c["confirmations"] >= 1 and c["code_present"] for c in by_name.values())
        aggregator = by_name["SphinxYieldAggregator"]["roles"]
        assert aggregator["DEFAULT_ADMIN_ROLE"] == [DEPLOYER]
        assert aggregator["OPERATOR_ROLE"] == [dev_address(1)]
        assert by_name["SpaceFlightNFT"]["roles"]["MINTER_ROLE"] == [dev_address(2)]
        for name in ("SphinxYieldAggregator", "SpaceFlightNFT"):  # may pause, nothing else
            assert by_name[name]["roles"]["GUARDIAN_ROLE"] == [dev_address(6)]


def test_lost_journal_is_rebuilt_from_the_chains_and_nothing_is_redeployed(
    project: Path, clean_env: pytest.MonkeyPatch
) -> None:
    import json

    before = journal(project)
    nonces = _nonces(project)
    (project / "deployments" / "local.json").unlink()

    result = cli(project, "deploy", "status", "--reconcile", "-o", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["reconciled"]) == 21
    after = journal(project)
    for name in CHAIN_IDS:
        old, new = before["chains"][name], after["chains"][name]
        assert [t["tx_hash"] for t in new["transactions"]] == [
            t["tx_hash"] for t in old["transactions"]
        ]
        assert [t["intent"] for t in new["transactions"]] == [
            t["intent"] for t in old["transactions"]
        ]
        assert {k: v["address"] for k, v in new["contracts"].items()} == {
            k: v["address"] for k, v in old["contracts"].items()
        }

    again = cli(project, "deploy", "contracts", "--yes", "-o", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["sent"] == 0
    assert _nonces(project) == nonces


def test_devnet_up_is_idempotent_and_status_reports_every_node(
    project: Path, clean_env: pytest.MonkeyPatch
) -> None:
    import json

    first = json.loads(cli(project, "devnet", "status", "-o", "json").stdout)
    up = cli(project, "devnet", "up", "-o", "json")
    assert up.exit_code == 0, up.output
    second = json.loads(up.stdout)
    assert [n["pid"] for n in second["nodes"]] == [n["pid"] for n in first["nodes"]]
    assert all(n["running"] and n["managed"] for n in second["nodes"])
    assert {n["chain_id"] for n in second["nodes"]} == set(CHAIN_IDS.values())


def test_a_wiped_devnet_is_detected_its_journal_archived_and_the_chains_redeployed(
    project: Path, clean_env: pytest.MonkeyPatch
) -> None:
    import json

    assert cli(project, "devnet", "down", "--wipe").exit_code == 0
    offline = cli(project, "deploy", "status", "-o", "json")
    assert offline.exit_code == 0, offline.output  # the journal is still shown
    assert all(chain["error"] for chain in json.loads(offline.stdout)["chains"])

    result = cli(project, "deploy", "contracts", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sent"] == 21
    archived = list((project / "deployments").glob("local.*.reset.json"))
    assert len(archived) == 1
    assert set(json.loads(archived[0].read_text())["chains"]) == set(CHAIN_IDS)
    assert _nonces(project) == dict.fromkeys(CHAIN_IDS, 7)
