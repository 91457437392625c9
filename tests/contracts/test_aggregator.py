"""SphinxYieldAggregator on anvil: pause, shutdown, cooldown, phi bounds, strategies, events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contracts.conftest import UNIT, System

COOLDOWN = 60


def _after_cooldown(s: System) -> None:
    s.chain.increase_time(COOLDOWN + 1)


def _fund_and_harvest(
    s: System, user: str, deposit: int = 1000 * UNIT, profit: int = 100 * UNIT
) -> None:
    """User deposits, half goes to s1, s1 earns `profit`, the operator harvests it."""
    s.chain.tx(s.vault.functions.deposit(deposit), user)
    s.chain.tx(s.vault.functions.rebalance(s.s1.address, deposit // 2), s.operator)
    s.chain.tx(s.token.functions.mint(s.s1.address, profit), s.admin)
    s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)


# ------------------------------------------------------------------ deposits, rewards, events


def test_deposit_withdraw_round_trip_and_events(system: System) -> None:
    s, user = system, system.users[0]
    before = s.token.functions.balanceOf(user).call()
    receipt = s.chain.tx(s.vault.functions.deposit(500 * UNIT), user)
    assert s.chain.events(s.vault, "Deposited", receipt) == [
        {"account": user, "amount": 500 * UNIT, "principal": 500 * UNIT}
    ]
    assert s.vault.functions.principalOf(user).call() == 500 * UNIT
    assert s.vault.functions.totalAssets().call() == 500 * UNIT
    _after_cooldown(s)
    receipt = s.chain.tx(s.vault.functions.withdraw(200 * UNIT), user)
    assert s.chain.events(s.vault, "Withdrawn", receipt) == [
        {"account": user, "amount": 200 * UNIT, "principal": 300 * UNIT}
    ]
    assert s.token.functions.balanceOf(user).call() == before - 300 * UNIT


def test_harvest_splits_yield_between_treasury_and_users_by_phi_boost(system: System) -> None:
    s = system
    low, high = s.users[0], s.users[1]
    s.chain.tx(s.vault.functions.setPhiScore(high, 1000), s.operator)  # 2.0x weight
    s.chain.tx(s.vault.functions.deposit(1000 * UNIT), low)
    s.chain.tx(s.vault.functions.deposit(1000 * UNIT), high)
    s.chain.tx(s.vault.functions.rebalance(s.s1.address, 1500 * UNIT), s.operator)
    s.chain.tx(s.token.functions.mint(s.s1.address, 300 * UNIT), s.admin)
    treasury_before = s.token.functions.balanceOf(s.treasury).call()
    receipt = s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)
    (event,) = s.chain.events(s.vault, "Harvested", receipt)
    assert event == {"strategy": s.s1.address, "profit": 300 * UNIT, "treasuryShare": 30 * UNIT,
                     "distributed": 270 * UNIT}  # fmt: skip
    assert s.token.functions.balanceOf(s.treasury).call() - treasury_before == 30 * UNIT
    low_reward = s.vault.functions.pendingRewards(low).call()
    high_reward = s.vault.functions.pendingRewards(high).call()
    assert abs(low_reward - 90 * UNIT) <= 1 and abs(high_reward - 180 * UNIT) <= 1
    assert low_reward + high_reward <= 270 * UNIT
    assert s.vault.functions.strategyDebt(s.s1.address).call() == 1500 * UNIT


def test_harvest_without_depositors_sends_all_yield_to_treasury(system: System) -> None:
    s = system
    s.chain.tx(s.token.functions.mint(s.s1.address, 7 * UNIT), s.admin)
    receipt = s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)
    assert s.chain.events(s.vault, "Harvested", receipt)[0]["treasuryShare"] == 7 * UNIT


def test_withdraw_pulls_from_strategies_when_idle_funds_are_short(system: System) -> None:
    s, user = system, system.users[0]
    s.chain.tx(s.vault.functions.deposit(1000 * UNIT), user)
    s.chain.tx(s.vault.functions.rebalance(s.s1.address, 600 * UNIT), s.operator)
    s.chain.tx(s.vault.functions.rebalance(s.s2.address, 300 * UNIT), s.operator)
    _after_cooldown(s)
    receipt = s.chain.tx(s.vault.functions.withdraw(950 * UNIT), user)
    returned = s.chain.events(s.vault, "StrategyFundsReturned", receipt)
    assert sum(e["amount"] for e in returned) == 850 * UNIT
    assert s.vault.functions.totalDebt().call() == 50 * UNIT


def test_exit_pays_principal_plus_rewards_and_claim_needs_rewards(system: System) -> None:
    s, user = system, system.users[0]
    _fund_and_harvest(s, user)
    owed = s.vault.functions.owedTo(user).call()
    assert owed == 1000 * UNIT + s.vault.functions.pendingRewards(user).call()
    _after_cooldown(s)
    before = s.token.functions.balanceOf(user).call()
    receipt = s.chain.tx(s.vault.functions.exit(), user)
    assert s.token.functions.balanceOf(user).call() - before == owed
    assert s.chain.events(s.vault, "RewardsClaimed", receipt)[0]["amount"] == owed - 1000 * UNIT
    _after_cooldown(s)
    assert s.chain.reverts(s.vault.functions.claimRewards(), user).name == "ZeroAmount"


def test_withdrawing_more_than_principal_is_rejected(system: System) -> None:
    s, user = system, system.users[0]
    s.chain.tx(s.vault.functions.deposit(10 * UNIT), user)
    _after_cooldown(s)
    revert = s.chain.reverts(s.vault.functions.withdraw(10 * UNIT + 1), user)
    assert (revert.name, revert.args) == ("InsufficientBalance", (10 * UNIT, 10 * UNIT + 1))


def test_admin_setters_validate_and_emit(system: System) -> None:
    s = system
    receipt = s.chain.tx(s.vault.functions.setTreasuryFeeBps(3000), s.admin)
    assert s.chain.events(s.vault, "TreasuryFeeUpdated", receipt) == [
        {"oldBps": 1000, "newBps": 3000}
    ]
    assert s.chain.reverts(s.vault.functions.setTreasuryFeeBps(3001), s.admin).name == "FeeTooHigh"
    assert (
        s.chain.reverts(s.vault.functions.setTreasury("0x" + "00" * 20), s.admin).name
        == "ZeroAddress"
    )
    receipt = s.chain.tx(s.vault.functions.setTreasury(s.users[4]), s.admin)
    assert s.chain.events(s.vault, "TreasuryUpdated", receipt) == [
        {"oldTreasury": s.treasury, "newTreasury": s.users[4]}
    ]
    receipt = s.chain.tx(s.vault.functions.setPhiScore(s.users[0], 600), s.operator)
    assert s.chain.events(s.vault, "PhiScoreUpdated", receipt) == [
        {"account": s.users[0], "oldScore": 0, "newScore": 600}
    ]


# ------------------------------------------------------------------ phi bounds


@pytest.mark.parametrize(
    ("score", "accepted"), [(199, False), (200, True), (1000, True), (1001, False)]
)
def test_phi_score_bounds(system: System, score: int, accepted: bool) -> None:
    s, user = system, system.users[0]
    call = s.vault.functions.setPhiScore(user, score)
    if accepted:
        s.chain.tx(call, s.operator)
        assert s.vault.functions.phiScoreOf(user).call() == score
        assert s.vault.functions.boostBps(user).call() == 10_000 + (score - 200) * 10_000 // 800
    else:
        revert = s.chain.reverts(call, s.operator)
        assert (revert.name, revert.args) == ("PhiScoreOutOfBounds", (score,))


# ------------------------------------------------------------------ cooldown


def test_cooldown_rejects_second_action_within_60s_and_accepts_after(system: System) -> None:
    s, user = system, system.users[0]
    receipt = s.chain.tx(s.vault.functions.deposit(10 * UNIT), user)
    started = s.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert s.vault.functions.nextActionAt(user).call() == started + COOLDOWN
    for action in (
        s.vault.functions.deposit(1),
        s.vault.functions.withdraw(1),
        s.vault.functions.exit(),
    ):
        revert = s.chain.reverts(action, user)
        assert (revert.name, revert.args) == ("CooldownActive", (started + COOLDOWN,))
    s.chain.increase_time(45)
    assert s.chain.reverts(s.vault.functions.withdraw(1), user).name == "CooldownActive"
    s.chain.increase_time(COOLDOWN - 45 + 1)
    s.chain.tx(s.vault.functions.withdraw(1), user)
    # Another account is not affected by this one's cooldown.
    s.chain.tx(s.vault.functions.deposit(1), s.users[1])


def test_cooldown_boundary_is_exactly_60s(system: System) -> None:
    s, user = system, system.users[0]
    receipt = s.chain.tx(s.vault.functions.deposit(10 * UNIT), user)
    started = s.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    data = s.vault.functions.withdraw(1).build_transaction({"from": user, "gas": 500_000})["data"]
    call = {"from": user, "to": s.vault.address, "data": data}

    def at(seconds: int) -> dict[str, Any]:
        return s.chain.w3.provider.make_request(  # type: ignore[no-any-return]
            "eth_call", [call, "latest", {}, {"time": hex(started + seconds)}]
        )

    assert s.chain.decode_revert(at(59)["error"]["data"]).name == "CooldownActive"
    assert "error" not in at(60)


# ------------------------------------------------------------------ pause


def _paused_with_rewards(s: System) -> None:
    _fund_and_harvest(s, s.users[0])
    _after_cooldown(s)
    s.chain.tx(s.vault.functions.pause(), s.admin)


PAUSE_BLOCKS: dict[str, Callable[[System], tuple[str, Any]]] = {
    "deposit": lambda s: (s.users[1], s.vault.functions.deposit(UNIT)),
    "harvest": lambda s: (s.operator, s.vault.functions.harvest(s.s1.address)),
    "rebalance": lambda s: (s.operator, s.vault.functions.rebalance(s.s1.address, 0)),
    "pause": lambda s: (s.admin, s.vault.functions.pause()),
}
PAUSE_ALLOWS: dict[str, Callable[[System], tuple[str, Any]]] = {
    "withdraw": lambda s: (s.users[0], s.vault.functions.withdraw(UNIT)),
    "claimRewards": lambda s: (s.users[0], s.vault.functions.claimRewards()),
    "exit": lambda s: (s.users[0], s.vault.functions.exit()),
    "unpause": lambda s: (s.admin, s.vault.functions.unpause()),
    "activateEmergencyShutdown": lambda s: (s.admin, s.vault.functions.activateEmergencyShutdown()),
    "addStrategy": lambda s: (s.admin, s.vault.functions.addStrategy(
        s.chain.deploy("MockStrategy", s.token.address, s.vault.address, sender=s.admin).address)),
    "retireStrategy": lambda s: (s.admin, s.vault.functions.retireStrategy(s.s1.address)),
    "setPhiScore": lambda s: (s.operator, s.vault.functions.setPhiScore(s.users[0], 900)),
    "setTreasury": lambda s: (s.admin, s.vault.functions.setTreasury(s.users[3])),
    "setTreasuryFeeBps": lambda s: (s.admin, s.vault.functions.setTreasuryFeeBps(100)),
    "grantRole": lambda s: (s.admin, s.vault.functions.grantRole(b"\x00" * 32, s.users[3])),
    "revokeRole": lambda s: (s.admin, s.vault.functions.revokeRole(b"\x00" * 32, s.admin)),
    "renounceRole": lambda s: (s.operator, s.vault.functions.renounceRole(
        s.vault.functions.OPERATOR_ROLE().call(), s.operator)),
}  # fmt: skip


def test_pause_classification_covers_every_state_changing_function(artifacts: dict) -> None:
    abi = artifacts["SphinxYieldAggregator"].abi
    mutating = {
        i["name"]
        for i in abi
        if i["type"] == "function" and i["stateMutability"] not in ("view", "pure")
    }
    assert mutating == set(PAUSE_BLOCKS) | set(PAUSE_ALLOWS)


@pytest.mark.parametrize("function", sorted(PAUSE_BLOCKS))
def test_pause_blocks(system: System, function: str) -> None:
    _paused_with_rewards(system)
    sender, call = PAUSE_BLOCKS[function](system)
    assert system.chain.reverts(call, sender).name == "EnforcedPause"


@pytest.mark.parametrize("function", sorted(PAUSE_ALLOWS))
def test_pause_allows(system: System, function: str) -> None:
    _paused_with_rewards(system)
    sender, call = PAUSE_ALLOWS[function](system)
    system.chain.tx(call, sender)


# ------------------------------------------------------------------ emergency shutdown


def test_emergency_shutdown_returns_funds_and_keeps_withdrawals_open(system: System) -> None:
    s = system
    a, b = s.users[0], s.users[1]
    s.chain.tx(s.vault.functions.deposit(1000 * UNIT), a)
    s.chain.tx(s.vault.functions.deposit(500 * UNIT), b)
    s.chain.tx(s.vault.functions.rebalance(s.s1.address, 900 * UNIT), s.operator)
    s.chain.tx(s.vault.functions.rebalance(s.s2.address, 400 * UNIT), s.operator)
    s.chain.tx(s.token.functions.mint(s.s2.address, 40 * UNIT), s.admin)  # unharvested yield
    s.chain.tx(s.vault.functions.pause(), s.admin)
    receipt = s.chain.tx(s.vault.functions.activateEmergencyShutdown(), s.admin)
    assert s.chain.events(s.vault, "EmergencyShutdownActivated", receipt) == [
        {"by": s.admin, "recovered": 1340 * UNIT}
    ]
    assert len(s.chain.events(s.vault, "StrategyRetired", receipt)) == 2
    assert s.vault.functions.emergencyShutdown().call()
    assert s.vault.functions.strategies().call() == []
    assert s.vault.functions.totalDebt().call() == 0
    assert s.token.functions.balanceOf(s.s1.address).call() == 0
    assert s.token.functions.balanceOf(s.vault.address).call() == 1540 * UNIT - 4 * UNIT  # 10% fee
    # Deposits stay closed; withdrawals are open at once (no cooldown), even while paused.
    assert s.chain.reverts(s.vault.functions.deposit(1), s.users[2]).name == "EnforcedPause"
    assert s.vault.functions.nextActionAt(a).call() == 0
    for user in (a, b):
        owed = s.vault.functions.owedTo(user).call()
        before = s.token.functions.balanceOf(user).call()
        s.chain.tx(s.vault.functions.exit(), user)
        assert s.token.functions.balanceOf(user).call() - before == owed
    s.chain.tx(s.vault.functions.unpause(), s.admin)
    assert (
        s.chain.reverts(s.vault.functions.deposit(1), s.users[2]).name == "EmergencyShutdownActive"
    )


def test_emergency_shutdown_is_final_and_closes_strategy_operations(system: System) -> None:
    s = system
    s.chain.tx(s.vault.functions.activateEmergencyShutdown(), s.admin)
    fresh = s.chain.deploy("MockStrategy", s.token.address, s.vault.address, sender=s.admin)
    for sender, call in (
        (s.admin, s.vault.functions.activateEmergencyShutdown()),
        (s.admin, s.vault.functions.addStrategy(fresh.address)),
    ):
        assert s.chain.reverts(call, sender).name == "EmergencyShutdownActive"
    assert (
        s.chain.reverts(s.vault.functions.harvest(s.s1.address), s.operator).name
        == "EmergencyShutdownActive"
    )


def test_a_broken_strategy_cannot_block_the_shutdown(system: System) -> None:
    s, user = system, system.users[0]
    s.chain.tx(s.vault.functions.deposit(1000 * UNIT), user)
    s.chain.tx(s.vault.functions.rebalance(s.s1.address, 300 * UNIT), s.operator)
    s.chain.tx(s.vault.functions.rebalance(s.s2.address, 300 * UNIT), s.operator)
    s.chain.tx(s.s2.functions.setBroken(True), s.admin)
    receipt = s.chain.tx(s.vault.functions.activateEmergencyShutdown(), s.admin)
    assert s.chain.events(s.vault, "StrategyRecoveryFailed", receipt) == [
        {"strategy": s.s2.address}
    ]
    assert s.vault.functions.strategies().call() == [s.s2.address]
    # Users can still take out what is liquid; the rest follows once the strategy pays back.
    s.chain.tx(s.vault.functions.withdraw(700 * UNIT), user)
    assert (
        s.chain.reverts(s.vault.functions.withdraw(300 * UNIT), user).name
        == "InsufficientLiquidity"
    )
    s.chain.tx(s.s2.functions.setBroken(False), s.admin)
    s.chain.tx(s.vault.functions.retireStrategy(s.s2.address), s.admin)
    s.chain.tx(s.vault.functions.withdraw(300 * UNIT), user)
    assert s.vault.functions.totalAssets().call() == 0


# ------------------------------------------------------------------ strategies


def test_strategy_without_code_is_rejected(system: System) -> None:
    s = system
    for address in (s.users[3], "0x000000000000000000000000000000000000dEaD"):
        revert = s.chain.reverts(s.vault.functions.addStrategy(address), s.admin)
        assert (revert.name, revert.args) == ("StrategyHasNoCode", (address.lower(),))


def test_strategy_for_another_asset_or_twice_is_rejected(system: System) -> None:
    s = system
    other = s.chain.deploy("MockERC20", "Other", "OTH", sender=s.admin)
    foreign = s.chain.deploy("MockStrategy", other.address, s.vault.address, sender=s.admin)
    assert (
        s.chain.reverts(s.vault.functions.addStrategy(foreign.address), s.admin).name
        == "StrategyAssetMismatch"
    )
    assert (
        s.chain.reverts(s.vault.functions.addStrategy(s.s1.address), s.admin).name
        == "StrategyAlreadyActive"
    )


def test_add_and_retire_strategy_emit_and_update_the_list(system: System) -> None:
    s, user = system, system.users[0]
    fresh = s.chain.deploy("MockStrategy", s.token.address, s.vault.address, sender=s.admin)
    receipt = s.chain.tx(s.vault.functions.addStrategy(fresh.address), s.admin)
    assert s.chain.events(s.vault, "StrategyAdded", receipt) == [{"strategy": fresh.address}]
    assert s.vault.functions.strategies().call() == [s.s1.address, s.s2.address, fresh.address]
    s.chain.tx(s.vault.functions.deposit(100 * UNIT), user)
    s.chain.tx(s.vault.functions.rebalance(fresh.address, 100 * UNIT), s.operator)
    s.chain.tx(s.token.functions.mint(fresh.address, 10 * UNIT), s.admin)
    receipt = s.chain.tx(s.vault.functions.retireStrategy(fresh.address), s.admin)
    assert s.chain.events(s.vault, "StrategyRetired", receipt) == [
        {"strategy": fresh.address, "recovered": 110 * UNIT}
    ]
    assert s.chain.events(s.vault, "Harvested", receipt)[0]["profit"] == 10 * UNIT  # surplus shared
    assert s.vault.functions.strategies().call() == [s.s1.address, s.s2.address]
    assert (
        s.chain.reverts(s.vault.functions.harvest(fresh.address), s.operator).name
        == "StrategyNotActive"
    )


def test_rebalance_cannot_allocate_more_than_idle(system: System) -> None:
    s = system
    s.chain.tx(s.vault.functions.deposit(10 * UNIT), s.users[0])
    revert = s.chain.reverts(s.vault.functions.rebalance(s.s1.address, 11 * UNIT), s.operator)
    assert (revert.name, revert.args) == ("InsufficientLiquidity", (10 * UNIT, 11 * UNIT))
    receipt = s.chain.tx(s.vault.functions.rebalance(s.s1.address, 10 * UNIT), s.operator)
    assert s.chain.events(s.vault, "Rebalanced", receipt) == [
        {"strategy": s.s1.address, "oldDebt": 0, "newDebt": 10 * UNIT}
    ]


def test_strategy_loss_is_reported_on_harvest(system: System) -> None:
    s = system
    s.chain.tx(s.vault.functions.deposit(100 * UNIT), s.users[0])
    s.chain.tx(s.vault.functions.rebalance(s.s1.address, 100 * UNIT), s.operator)
    s.chain.tx(s.token.functions.burn(s.s1.address, 5 * UNIT), s.admin)
    receipt = s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)
    assert s.chain.events(s.vault, "StrategyLossReported", receipt) == [
        {"strategy": s.s1.address, "loss": 5 * UNIT}
    ]
    assert s.vault.functions.strategyDebt(s.s1.address).call() == 95 * UNIT
