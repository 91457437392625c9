"""EIP-1559 fee quotes, replacement bumps, encoding helpers, and plans built from config."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinxctl.chains.fees import GWEI, bumped, fees_from_history
from sphinxctl.chains.registry import display_url, explorer_link, parse_chain_option, select_chains
from sphinxctl.deploy.faults import Faults
from sphinxctl.deploy.plan import build_deploy_plan, build_handover_plan
from sphinxctl.errors import ConfigError, UsageError
from sphinxctl.settings import ChainSettings, load_settings
from sphinxctl.solidity.abi import (
    create_address,
    describe_revert,
    encode_call,
    role_id,
    role_name,
)

ROOT = Path(__file__).resolve().parents[2]


def _chain(**extra: object) -> ChainSettings:
    return ChainSettings(name="ethereum", chain_id=1, rpc_urls=["http://x"], **extra)


def _history(base_gwei: list[float], tips_gwei: list[float]) -> dict[str, object]:
    return {
        "baseFeePerGas": [hex(int(b * GWEI)) for b in base_gwei],
        "reward": [[hex(int(t * GWEI))] for t in tips_gwei],
    }


def test_fees_follow_the_next_base_fee_and_the_median_tip() -> None:
    quote = fees_from_history(_history([10, 12, 20], [1, 3, 2]), _chain(max_priority_fee_gwei=5))
    assert quote.base_fee_wei == 20 * GWEI
    assert quote.priority_fee_wei == 2 * GWEI
    assert quote.max_fee_wei == 40 * GWEI + 2 * GWEI
    assert not quote.above_ceiling


def test_the_tip_is_capped_and_the_max_fee_never_offers_more_than_the_ceiling() -> None:
    chain = _chain(max_priority_fee_gwei=1, max_base_fee_gwei=30)
    quote = fees_from_history(_history([20, 25], [9, 9, 9]), chain)
    assert quote.priority_fee_wei == 1 * GWEI
    assert quote.max_fee_wei == 30 * GWEI + 1 * GWEI
    above = fees_from_history(_history([20, 31], [0]), chain)
    assert above.above_ceiling and above.max_fee_wei >= above.base_fee_wei


def test_a_replacement_bumps_both_fees_by_at_least_the_configured_percentage() -> None:
    current = fees_from_history(_history([1, 1], [0]), _chain())
    max_fee, tip = bumped(100 * GWEI, 2 * GWEI, 15, current)
    assert max_fee >= 115 * GWEI and tip >= 2.3 * GWEI
    max_fee, tip = bumped(10, 0, 10, current)  # a zero tip still rises
    assert tip == 1 and max_fee >= current.max_fee_wei


def test_create_addresses_role_ids_and_revert_reasons() -> None:
    deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert create_address(deployer, 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    assert create_address(deployer, 1) == "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    assert role_id("DEFAULT_ADMIN_ROLE") == "0x" + "00" * 32
    assert role_name(role_id("MINTER_ROLE")) == "MINTER_ROLE"
    error_abi = [
        {
            "type": "error",
            "name": "AccessControlUnauthorizedAccount",
            "inputs": [
                {"type": "address", "name": "account"},
                {"type": "bytes32", "name": "neededRole"},
            ],
        }
    ]
    data = encode_call(
        "AccessControlUnauthorizedAccount(address,bytes32)", [deployer, role_id("ADMIN_ROLE")]
    )
    assert describe_revert(data, [error_abi]) == (
        f"AccessControlUnauthorizedAccount({deployer}, ADMIN_ROLE)"
    )
    reason = encode_call("Error(string)", ["nope"])
    assert describe_revert(reason, []) == "nope"


def test_explorer_links_and_printable_rpc_urls() -> None:
    assert (
        explorer_link(_chain(), "mainnet", "address", "0xabc")
        == "https://etherscan.io/address/0xabc"
    )
    amoy = ChainSettings(name="polygon", chain_id=80002, rpc_urls=["http://x"])
    assert explorer_link(amoy, "testnet", "tx", "0x1") == "https://amoy.polygonscan.com/tx/0x1"
    assert explorer_link(_chain(), "local", "address", "0xabc") is None  # a devnet has none
    assert display_url("https://eth.example.com/v2/SECRETKEY?x=1") == "https://eth.example.com/…"
    assert "SECRET" not in display_url("https://user:SECRET@rpc.example:8545/")


def test_chain_selection_rejects_unknown_names() -> None:
    settings = load_settings("local", ROOT / "environments").settings
    assert parse_chain_option("polygon, arbitrum") == ["polygon", "arbitrum"]
    assert [c.name for c in select_chains(settings, ["arbitrum", "ethereum"])] == [
        "ethereum",
        "arbitrum",
    ]
    with pytest.raises(UsageError, match="unknown chain 'solana'"):
        select_chains(settings, ["solana"])


def test_local_plan_deploys_the_local_token_first_and_grants_roles_last() -> None:
    settings = load_settings("local", ROOT / "environments").settings
    plan = build_deploy_plan(settings, settings.chains["polygon"])
    assert [s.intent for s in plan.steps][:3] == [
        "deploy:DevnetSPX",
        "deploy:SphinxYieldAggregator",
        "deploy:SpaceFlightNFT",
    ]
    assert plan.steps[0].local_only and not plan.steps[1].local_only
    assert plan.steps[1].args[-1] == settings.contracts.admin_transfer_delay_seconds == 1
    assert plan.steps[2].args[-1] == 1
    # operator, minter, then the guardian on both contracts
    assert [s.function for s in plan.steps[3:]] == ["grantRole(bytes32,address)"] * 4
    guardian = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
    assert [s.intent for s in plan.steps[5:]] == [
        f"grant:SphinxYieldAggregator:GUARDIAN_ROLE:{guardian}",
        f"grant:SpaceFlightNFT:GUARDIAN_ROLE:{guardian}",
    ]


def test_testnet_and_mainnet_plans_never_include_the_local_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "0x" + "ab" * 20
    for name in ("SPX_SEPOLIA", "SPX_AMOY", "SPX_ARBITRUM_SEPOLIA"):
        monkeypatch.setenv(name, token)
    monkeypatch.setenv("SPHINX_TREASURY", "0x" + "cd" * 20)
    settings = load_settings("testnet", ROOT / "environments", strict=False).settings
    for chain in settings.chains.values():
        plan = build_deploy_plan(settings, chain)
        assert all(not step.local_only and "DevnetSPX" not in step.intent for step in plan.steps)
        assert plan.steps[0].args[0] == token
    settings.contracts.deploy_local_token = True
    with pytest.raises(ConfigError, match="deploy_local_token"):
        build_deploy_plan(settings, settings.chains["ethereum"])


def test_placeholder_addresses_are_refused() -> None:
    settings = load_settings("mainnet", ROOT / "environments", strict=False).settings
    with pytest.raises(ConfigError) as caught:
        build_deploy_plan(settings, settings.chains["ethereum"])
    assert caught.value.reference == "config-placeholder-address"


def test_phi_bounds_other_than_the_constructor_defaults_add_a_call() -> None:
    settings = load_settings("local", ROOT / "environments").settings
    settings.contracts.phi_min, settings.contracts.phi_max = 250, 900
    plan = build_deploy_plan(settings, settings.chains["ethereum"])
    assert any(
        step.function == "setPhiBounds(uint16,uint16)" and step.args == [250, 900]
        for step in plan.steps
    )


def test_handover_starts_the_admin_transfer_and_renounces_the_rest_after_checks() -> None:
    settings = load_settings("local", ROOT / "environments").settings
    plan = build_handover_plan(
        settings,
        settings.chains["ethereum"],
        deploy_safe=True,
        contracts=["SphinxYieldAggregator"],
        held={"SphinxYieldAggregator": ["OPERATOR_ROLE"]},
    )
    intents = [step.intent for step in plan.steps]
    assert intents[:4] == [
        "deploy:SafeSingleton",
        "deploy:SafeProxyFactory",
        "handover:create:Safe",
        "check:safe",
    ]
    assert intents.index("check:safe-roles") < intents.index(
        "handover:renounce:SphinxYieldAggregator:ADMIN_ROLE"
    )
    assert intents.index("handover:begin-admin-transfer:SphinxYieldAggregator") < intents.index(
        "check:safe-roles"
    )
    # DEFAULT_ADMIN_ROLE cannot be renounced or granted: it moves when the Safe accepts
    assert not any("DEFAULT_ADMIN_ROLE" in intent for intent in intents)
    assert "handover:renounce:SphinxYieldAggregator:OPERATOR_ROLE" in intents


def test_crash_points_are_validated() -> None:
    with pytest.raises(UsageError, match="bad crash point"):
        Faults("after-lunch:1")
    faults = Faults("recorded:3")
    faults.hit("recorded")
    faults.hit("signed")  # other points do not count
    faults.hit("recorded")  # second hit: still alive
