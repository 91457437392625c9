"""`deploy verify --sources DIR`: the standard-JSON input and metadata written for both
contracts on three chains, compiled again from those files, reproduce the deployed runtime
code; a record pointing at other code is reported as a mismatch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deploy_env import CHAIN_IDS, Anvil, cli, journal, make_project, shared_template

pytestmark = pytest.mark.integration
CONTRACTS = ("SpaceFlightNFT", "SphinxYieldAggregator")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    nodes = {name: Anvil(chain_id) for name, chain_id in CHAIN_IDS.items()}
    try:
        project = make_project(
            tmp_path_factory.mktemp("sources") / "project",
            shared_template(),
            {name: node.url for name, node in nodes.items()},
        )
        result = cli(project, "deploy", "contracts", "--yes")
        assert result.exit_code == 0, result.output
        yield project
    finally:
        for node in nodes.values():
            node.stop()


def test_source_files_for_both_contracts_on_three_chains_reproduce_the_code(
    deployed: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "verification"
    result = cli(deployed, "deploy", "verify", "--sources", str(out), "-o", "json")
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)["checks"]
    assert {(c["chain"], c["contract"]) for c in checks} == {
        (chain, contract) for chain in CHAIN_IDS for contract in CONTRACTS
    }
    assert all(c["ok"] for c in checks), checks
    for chain in CHAIN_IDS:
        for contract in CONTRACTS:
            directory = out / chain / contract
            document = json.loads((directory / "standard-input.json").read_text())
            metadata = json.loads((directory / "metadata.json").read_text())
            assert set(document["sources"]) == set(metadata["sources"])
            assert any(s.startswith("@openzeppelin/") for s in document["sources"])
            assert document["settings"]["evmVersion"] == metadata["settings"]["evmVersion"]
            for unit in document["sources"]:
                assert (directory / "sources" / unit).read_text() == (
                    document["sources"][unit]["content"]
                )
            assert (directory / "constructor-args.txt").read_text().startswith("0x")


def test_a_record_whose_code_differs_from_the_sources_is_a_mismatch(
    deployed: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    path = deployed / "deployments" / "local.json"
    original = path.read_text()
    data = journal(deployed)
    section = data["chains"]["polygon"]["contracts"]
    section["SpaceFlightNFT"]["address"] = section["SphinxYieldAggregator"]["address"]
    path.write_text(json.dumps(data))
    try:
        result = cli(deployed, "deploy", "verify", "--sources", str(tmp_path / "v"), "-o", "json")
    finally:
        path.write_text(original)
    assert result.exit_code == 4, result.output
    assert "sources-mismatch" in result.output and "polygon/SpaceFlightNFT" in result.output
