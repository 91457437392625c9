"""A strategy that calls back into the vault while the vault calls it cannot re-enter."""

from __future__ import annotations

import pytest
from web3.contract import Contract

from tests.support.chain import UNIT, System, selector

pytestmark = pytest.mark.integration

NONE, DEPOSIT, WITHDRAW, HARVEST = range(4)
REENTRANT_CALL = selector("ReentrancyGuardReentrantCall()")


@pytest.fixture
def attacker(system: System) -> Contract:
    s = system
    strategy = s.chain.deploy("ReentrantStrategy", s.token.address, s.vault.address, sender=s.admin)
    s.chain.tx(s.vault.functions.addStrategy(strategy.address), s.admin)
    s.chain.tx(
        s.token.functions.mint(strategy.address, 10 * UNIT), s.admin
    )  # funds for its attempts
    s.chain.tx(s.vault.functions.deposit(1000 * UNIT, s.users[0]), s.users[0])
    return strategy


def _assert_blocked(attacker: Contract, attempts: int) -> None:
    assert attacker.functions.attempts().call() == attempts
    assert attacker.functions.successes().call() == 0
    assert attacker.functions.lastError().call()[:4] == REENTRANT_CALL


@pytest.mark.parametrize("attack", [DEPOSIT, WITHDRAW, HARVEST])
def test_reentry_during_rebalance_is_blocked(
    system: System, attacker: Contract, attack: int
) -> None:
    s = system
    s.chain.tx(attacker.functions.configure(attack, False), s.admin)
    s.chain.tx(s.vault.functions.rebalance(attacker.address, 500 * UNIT), s.operator)
    _assert_blocked(attacker, 1)
    assert s.vault.functions.strategyDebt(attacker.address).call() == 500 * UNIT


@pytest.mark.parametrize("attack", [DEPOSIT, WITHDRAW, HARVEST])
def test_reentry_during_user_withdrawal_is_blocked(
    system: System, attacker: Contract, attack: int
) -> None:
    s, user = system, system.users[0]
    s.chain.tx(s.vault.functions.rebalance(attacker.address, 900 * UNIT), s.operator)
    s.chain.tx(attacker.functions.configure(attack, False), s.admin)
    s.chain.increase_time(61)
    before = s.token.functions.balanceOf(user).call()
    s.chain.tx(s.vault.functions.withdraw(950 * UNIT, user, user), user)  # 850 from the attacker
    assert s.token.functions.balanceOf(user).call() - before == 950 * UNIT
    _assert_blocked(attacker, 1)


def test_reentry_during_harvest_and_shutdown_is_blocked(system: System, attacker: Contract) -> None:
    s = system
    s.chain.tx(s.vault.functions.rebalance(attacker.address, 100 * UNIT), s.operator)
    s.chain.tx(attacker.functions.configure(WITHDRAW, False), s.admin)
    s.chain.tx(s.vault.functions.harvest(attacker.address), s.operator)  # 10 UNIT of gain
    s.chain.tx(s.vault.functions.activateEmergencyShutdown(), s.admin)
    _assert_blocked(attacker, 2)
    assert s.vault.functions.strategies().call() == []
    assert s.token.functions.balanceOf(attacker.address).call() == 0


def test_an_unswallowed_reentry_reverts_the_whole_call(system: System, attacker: Contract) -> None:
    s = system
    s.chain.tx(attacker.functions.configure(DEPOSIT, True), s.admin)
    revert = s.chain.reverts(s.vault.functions.rebalance(attacker.address, 500 * UNIT), s.operator)
    assert revert.name == "ReentrancyGuardReentrantCall"
    assert s.vault.functions.strategyDebt(attacker.address).call() == 0


def test_attacker_calling_directly_is_just_a_user(system: System, attacker: Contract) -> None:
    s = system
    s.chain.tx(attacker.functions.configure(WITHDRAW, False), s.admin)
    revert = s.chain.reverts(attacker.functions.attackOnce(), s.outsider)
    assert revert.name == "ERC4626ExceededMaxWithdraw"
