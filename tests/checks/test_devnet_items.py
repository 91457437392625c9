"""On the devnet after a full deployment and Safe handover every chain and contract item
passes; each test breaks exactly one condition and sees that item, and only that item, fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.checks import ChecklistReport, Status
from tests.support.checked_devnet import CheckedDevnet
from tests.support.checks_env import assert_only_failure, by_id, closed_port, run_in
from tests.support.deploy_env import Anvil, dev_address
from tests.support.redis_server import shared_redis

pytestmark = pytest.mark.integration

CHAIN_AND_CONTRACT_AREAS = ("chains", "deployment", "keys", "contracts")
DEPLOYER = dev_address(0)
OUTSIDER = dev_address(7)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory, snapshot: Path) -> Iterator[CheckedDevnet]:
    patch = pytest.MonkeyPatch()
    for name in list(os.environ):
        if name.startswith(("SPHINXCTL_", "SPHINX_")) or name in ("DATABASE_URL", "REDIS_URL"):
            patch.delenv(name)
    world = CheckedDevnet(tmp_path_factory.mktemp("checks-devnet"), shared_redis().url, snapshot)
    try:
        world.deploy()
        world.serve_api()
        yield world
    finally:
        world.stop()
        patch.undo()


@pytest.fixture(scope="module")
def green(devnet: CheckedDevnet) -> ChecklistReport:
    return run_in(devnet.root)


def run(devnet: CheckedDevnet) -> ChecklistReport:
    return run_in(devnet.root)


def test_every_automated_item_passes_after_deployment_and_handover(green: ChecklistReport) -> None:
    automated = [r for r in green.results if r.kind == "automated"]
    not_passing = {r.id: r.reason for r in automated if r.status not in (Status.PASS, Status.SKIP)}
    assert not_passing == {}
    for result in automated:
        if result.area in CHAIN_AND_CONTRACT_AREAS:
            assert result.status == Status.PASS, (result.id, result.reason)
    skipped = {r.id for r in automated if r.status == Status.SKIP}
    assert skipped == {"API-003", "INF-003", "BAK-003", "LCH-001"}  # not applicable locally


# --------------------------------------------------------------------------------- chains


def test_unreachable_rpc_fails_only_rpc_001(
    devnet: CheckedDevnet, green: ChecklistReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("SPHINXCTL_CHAINS__POLYGON__RPC_URLS", f'["{url}"]')
    after = run(devnet)
    assert_only_failure(green, after, "RPC-001")
    assert "polygon http://127.0.0.1" in by_id(after)["RPC-001"].reason
    assert by_id(after)["DEP-002"].details["blocked_by"] == "RPC-001"


def test_rpc_on_the_wrong_chain_fails_only_rpc_002(
    devnet: CheckedDevnet, green: ChecklistReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    ethereum = devnet.anvils["ethereum"].url
    monkeypatch.setenv("SPHINXCTL_CHAINS__POLYGON__RPC_URLS", f'["{ethereum}"]')
    after = run(devnet)
    assert_only_failure(green, after, "RPC-002")
    assert "chain id 1, expected 137" in by_id(after)["RPC-002"].reason


def test_head_in_the_future_fails_only_rpc_003(
    devnet: CheckedDevnet, green: ChecklistReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    future = Anvil(1, "--timestamp", str(int(time.time()) + 86_400))
    try:
        monkeypatch.setenv("SPHINXCTL_CHAINS__ETHEREUM__RPC_URLS", f'["{future.url}"]')
        after = run(devnet)
    finally:
        future.stop()
    assert_only_failure(green, after, "RPC-003")
    assert "in the future" in by_id(after)["RPC-003"].reason


# ----------------------------------------------------------------------------- deployment


def test_contract_missing_from_the_record_fails_only_dep_001(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    import json

    path = devnet.root / "deployments" / "local.json"
    original = path.read_text()
    journal = json.loads(original)
    del journal["chains"]["arbitrum"]["contracts"]["SpaceFlightNFT"]
    path.write_text(json.dumps(journal))
    try:
        after = run(devnet)
    finally:
        path.write_text(original)
    assert_only_failure(green, after, "DEP-001")
    assert "arbitrum: SpaceFlightNFT not deployed" in by_id(after)["DEP-001"].reason


def test_foreign_code_at_a_recorded_address_fails_only_dep_002(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    token = devnet.address("polygon", "DevnetSPX")
    code = devnet.call("polygon", "eth_getCode", token, "latest")
    changed = code[:-2] + ("00" if code[-2:] != "00" else "01")  # same size, last byte differs
    with devnet.reverted():
        devnet.call("polygon", "anvil_setCode", token, changed)
        after = run(devnet)
    assert_only_failure(green, after, "DEP-002")
    assert "polygon DevnetSPX" in by_id(after)["DEP-002"].reason
    assert "code differs from the artifact" in by_id(after)["DEP-002"].reason


def test_paused_contract_fails_only_dep_003(devnet: CheckedDevnet, green: ChecklistReport) -> None:
    with devnet.reverted():
        nft = devnet.address("arbitrum", "SpaceFlightNFT")
        devnet.send_as("arbitrum", devnet.safe("arbitrum"), nft, "pause()")
        after = run(devnet)
    assert_only_failure(green, after, "DEP-003")
    assert by_id(after)["DEP-003"].reason == "arbitrum SpaceFlightNFT is paused"


def test_emergency_shutdown_fails_only_dep_004(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    with devnet.reverted():
        vault = devnet.address("ethereum", "SphinxYieldAggregator")
        devnet.send_as("ethereum", devnet.safe("ethereum"), vault, "activateEmergencyShutdown()")
        after = run(devnet)
    assert_only_failure(green, after, "DEP-004")
    assert "ethereum SphinxYieldAggregator" in by_id(after)["DEP-004"].reason


def test_changed_treasury_on_chain_fails_only_dep_006(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    with devnet.reverted():
        vault = devnet.address("polygon", "SphinxYieldAggregator")
        devnet.send_as("polygon", devnet.safe("polygon"), vault, "setTreasury(address)", OUTSIDER)
        after = run(devnet)
    assert_only_failure(green, after, "DEP-006")
    assert f"polygon SphinxYieldAggregator.treasury is {OUTSIDER}" in by_id(after)["DEP-006"].reason


# -------------------------------------------------------------------------- keys / roles


def test_second_admin_next_to_the_safe_fails_only_key_001(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    from sphinxctl.solidity.abi import role_id

    with devnet.reverted():
        nft = devnet.address("ethereum", "SpaceFlightNFT")
        devnet.send_as(
            "ethereum", devnet.safe("ethereum"), nft, "grantRole(bytes32,address)",
            role_id("ADMIN_ROLE"), OUTSIDER,
        )  # fmt: skip
        after = run(devnet)
    assert_only_failure(green, after, "KEY-001")
    assert f"ADMIN_ROLE also held by {OUTSIDER}" in by_id(after)["KEY-001"].reason


def test_safe_threshold_changed_fails_only_key_002(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    with devnet.reverted():
        safe = devnet.safe("arbitrum")
        devnet.send_as("arbitrum", safe, safe, "changeThreshold(uint256)", 3)
        after = run(devnet)
    assert_only_failure(green, after, "KEY-002")
    assert "is 3-of-3" in by_id(after)["KEY-002"].reason


def test_role_left_on_the_deployer_fails_only_key_003(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    from sphinxctl.solidity.abi import role_id

    with devnet.reverted():
        nft = devnet.address("polygon", "SpaceFlightNFT")
        devnet.send_as(
            "polygon", devnet.safe("polygon"), nft, "grantRole(bytes32,address)",
            role_id("REFERRER_ROLE"), DEPLOYER,
        )  # fmt: skip
        after = run(devnet)
    assert_only_failure(green, after, "KEY-003")
    reason = by_id(after)["KEY-003"].reason
    assert "polygon SpaceFlightNFT: the deployer holds REFERRER_ROLE" in reason


def test_minter_that_is_a_contract_fails_only_key_004(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    minter = devnet.config["contracts"]["minters"][0]
    with devnet.reverted():
        devnet.call("ethereum", "anvil_setCode", minter, "0x6080604052")
        after = run(devnet)
    assert_only_failure(green, after, "KEY-004")
    assert f"MINTER_ROLE holder {minter} is a contract" in by_id(after)["KEY-004"].reason


def test_configured_minter_without_the_role_fails_only_key_005(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    from sphinxctl.solidity.abi import role_id

    minter = devnet.config["contracts"]["minters"][0]
    with devnet.reverted():
        nft = devnet.address("arbitrum", "SpaceFlightNFT")
        devnet.send_as(
            "arbitrum", devnet.safe("arbitrum"), nft, "revokeRole(bytes32,address)",
            role_id("MINTER_ROLE"), minter,
        )  # fmt: skip
        after = run(devnet)
    assert_only_failure(green, after, "KEY-005")
    assert "lack MINTER_ROLE" in by_id(after)["KEY-005"].reason


# ---------------------------------------------------------------------- contracts / build


def test_stale_build_fails_only_ctr_001(devnet: CheckedDevnet, green: ChecklistReport) -> None:
    import json

    manifest = devnet.root / "build" / "artifacts" / "manifest.json"
    original = manifest.read_text()
    data = json.loads(original)
    data["cache_key"] = "0" * 64
    first = sorted(data["sources"])[0]
    data["sources"][first] = "0" * 64
    manifest.write_text(json.dumps(data))
    try:
        after = run(devnet)
    finally:
        manifest.write_text(original)
    assert_only_failure(green, after, "CTR-001")
    assert f"sources changed since the build: {first}" in by_id(after)["CTR-001"].reason


def test_untriaged_slither_finding_fails_only_ctr_002(
    devnet: CheckedDevnet, green: ChecklistReport
) -> None:
    triage = devnet.root / "contracts" / "SLITHER_TRIAGE.md"
    original = triage.read_text()
    kept = [line for line in original.splitlines() if not line.startswith("| reentrancy-no-eth")]
    triage.write_text("\n".join(kept))
    try:
        after = run(devnet)
    finally:
        triage.write_text(original)
    assert_only_failure(green, after, "CTR-002")
    assert "not triaged: reentrancy-no-eth" in by_id(after)["CTR-002"].reason


# ------------------------------------------------------------------------ API and Redis


def test_api_not_answering_fails_only_api_001(
    devnet: CheckedDevnet, green: ChecklistReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHINXCTL_API__BASE_URL", f"http://127.0.0.1:{closed_port()}")
    after = run(devnet)
    assert_only_failure(green, after, "API-001")


def test_redis_unreachable_fails_only_api_004(
    devnet: CheckedDevnet, green: ChecklistReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHINXCTL_REDIS__URL", f"redis://127.0.0.1:{closed_port()}/0")
    after = run(devnet)
    assert_only_failure(green, after, "API-004")
    assert "failure mode 'local'" in by_id(after)["API-004"].reason


# --------------------------------------------------------------------------- launch


def test_testnet_record_unverified_fails_only_lch_001(
    devnet: CheckedDevnet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mainnet wants the testnet rehearsal: the devnet's record stands in for testnet's."""
    import json

    from tests.support.checks_env import make_project

    project = make_project(tmp_path / "mainnet", devnet.root)
    for chain in ("ETHEREUM", "POLYGON", "ARBITRUM"):
        monkeypatch.setenv(
            f"SPHINXCTL_CHAINS__{chain}__RPC_URLS", f'["http://127.0.0.1:{closed_port()}"]'
        )
    monkeypatch.setenv("SPHINXCTL_REDIS__URL", f"redis://127.0.0.1:{closed_port()}/0")
    journal = json.loads((devnet.root / "deployments" / "local.json").read_text())
    journal["environment"] = "testnet"
    testnet = project / "deployments" / "testnet.json"
    testnet.write_text(json.dumps(journal))
    before = run_in(project, "mainnet")
    journal["chains"]["polygon"]["contracts"]["SphinxYieldAggregator"]["verified"] = False
    testnet.write_text(json.dumps(journal))
    after = run_in(project, "mainnet")
    assert_only_failure(before, after, "LCH-001")
    assert (
        "testnet polygon: SphinxYieldAggregator bytecode not verified"
        in by_id(after)["LCH-001"].reason
    )


# --------------------------------------------------------------------- deployer balance


def test_deployer_short_of_funds_fails_only_dep_005(devnet: CheckedDevnet, tmp_path: Path) -> None:
    """Before deployment the whole plan is still to pay for: a poor deployer fails DEP-005."""
    import yaml

    from tests.support.checks_env import make_project

    fresh = {name: Anvil(node.chain_id) for name, node in devnet.anvils.items()}
    try:
        project = make_project(tmp_path / "fresh", devnet.root)
        config = devnet.config
        for name, node in fresh.items():
            config["chains"][name].update(devnet_port=node.port, rpc_urls=[node.url])
        (project / "environments" / "local.yaml").write_text(yaml.safe_dump(config))
        before = run_in(project)
        assert "planned" in by_id(before)["DEP-005"].reason
        fresh["polygon"].call("anvil_setBalance", DEPLOYER, hex(10**12))
        after = run_in(project)
        assert_only_failure(before, after, "DEP-005")
        assert "polygon: balance 0.000001 POL < planned" in by_id(after)["DEP-005"].reason

        # Deployed but not yet handed over: the handover is what is left to pay for, and the
        # deployer still holding its roles is exactly what KEY-003 reports.
        from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts
        from sphinxctl.settings import load_settings

        fresh["polygon"].call("anvil_setBalance", DEPLOYER, hex(10**22))
        settings = load_settings("local", project / "environments").settings
        deploy_contracts(settings, DeployRequest(project_root=project), confirm=lambda _p: True)
        deployed = by_id(run_in(project))
        assert deployed["DEP-001"].status == Status.PASS
        assert deployed["DEP-005"].status == Status.PASS, deployed["DEP-005"].reason
        assert " 0.000000 ETH planned" not in deployed["DEP-005"].reason
        assert deployed["KEY-003"].status == Status.FAIL
        assert "the deployer holds ADMIN_ROLE, DEFAULT_ADMIN_ROLE" in deployed["KEY-003"].reason
    finally:
        for node in fresh.values():
            node.stop()
