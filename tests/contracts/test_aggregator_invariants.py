"""Hypothesis stateful test: random sequences of deposits, withdrawals, exits, claims, yield,
harvests, rebalances, strategy changes, phi updates, pauses, time travel and the emergency
shutdown, from several accounts, against the aggregator on anvil.

After every step: the vault's assets cover its liabilities, its liabilities cover what users can
withdraw, principal adds up, and during the shutdown every user with a balance can exit. Every
withdrawal pays exactly what was asked (never more than owed), and an over-withdrawal reverts.
Each example runs between its own evm_snapshot/evm_revert. The step count is printed in the
pytest summary line `aggregator invariants on anvil: ...`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract

from tests.contracts.conftest import STATS, UNIT, System

EXAMPLES = 15
STEPS_PER_EXAMPLE = 30

amounts = st.one_of(st.integers(1, 1_000), st.integers(1, 5_000).map(lambda n: n * UNIT // 10))


def _bump(name: str, by: int = 1) -> None:
    STATS[name] = STATS.get(name, 0) + by


def make_machine(s: System, s3: Contract) -> type[RuleBasedStateMachine]:
    chain, vault, token = s.chain, s.vault, s.token
    users = s.users[:3]
    pool = [s.s1, s.s2, s3]

    class AggregatorMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = chain.snapshot()
            # The model: what the rules changed (checked against the chain by the invariants).
            self.acted: set[str] = set()  # users who acted since the last time travel
            self.paused = False
            self.shutdown = False
            self.active = {p.address for p in pool if vault.functions.isStrategy(p.address).call()}
            _bump("examples")

        def teardown(self) -> None:
            try:
                self.final_checks()
            finally:
                chain.revert_to(self.snapshot)

        def final_checks(self) -> None:
            """Once per example: full accounting, then shut down and let everyone exit."""
            principals = [vault.functions.principalOf(u).call() for u in users]
            assert vault.functions.totalPrincipal().call() == sum(principals)
            debts = [vault.functions.strategyDebt(p.address).call() for p in pool]
            assert vault.functions.totalDebt().call() == sum(debts)
            if not self.shutdown:
                chain.tx(vault.functions.activateEmergencyShutdown(), s.admin)
            for u in users:
                owed = vault.functions.owedTo(u).call()
                if owed:
                    assert self.paid(u, vault.functions.exit(), None) == owed
                    _bump("final_exits")
            assert vault.functions.totalPrincipal().call() == 0
            assert token.functions.balanceOf(vault.address).call() >= (
                vault.functions.rewardsOutstanding().call()
            )

        @initialize(seed=st.lists(amounts, min_size=len(users), max_size=len(users)))
        def everyone_deposits(self, seed: list[int]) -> None:
            chain.increase_time(61)
            for user, amount in zip(users, seed, strict=True):
                self.expect(user, vault.functions.deposit(amount), None)
            chain.increase_time(61)

        # -------------------------------------------------------------- helpers

        def expect(self, sender: str, call: Any, error: str | None) -> None:
            _bump("steps")
            if error is None:
                chain.tx(call, sender)
                _bump(f"ok_{call.fn_name}")
            else:
                assert chain.reverts(call, sender).name == error

        def user_error(self, user: str, *, deposit: bool = False) -> str | None:
            if deposit and self.paused:
                return "EnforcedPause"
            if deposit and self.shutdown:
                return "EmergencyShutdownActive"
            if user in self.acted and not self.shutdown:
                return "CooldownActive"
            return None

        def operator_error(self, strategy: Contract) -> str | None:
            if self.paused:
                return "EnforcedPause"
            if self.shutdown:
                return "EmergencyShutdownActive"
            if strategy.address not in self.active:
                return "StrategyNotActive"
            return None

        def paid(self, user: str, sender_call: Any, error: str | None) -> int:
            before = token.functions.balanceOf(user).call()
            self.expect(user, sender_call, error)
            if error is None:
                self.acted.add(user)
            return int(token.functions.balanceOf(user).call() - before)

        # -------------------------------------------------------------- user rules

        @rule(u=st.sampled_from(users), amount=amounts, wait=st.booleans())
        def deposit(self, u: str, amount: int, wait: bool) -> None:
            self.maybe_wait(wait)
            principal = vault.functions.principalOf(u).call()
            error = self.user_error(u, deposit=True)
            assert self.paid(u, vault.functions.deposit(amount), error) == (
                -amount if error is None else 0
            )
            added = amount if error is None else 0
            assert vault.functions.principalOf(u).call() == principal + added

        @rule(u=st.sampled_from(users), fraction=st.floats(0.01, 1.0), wait=st.booleans())
        def withdraw(self, u: str, fraction: float, wait: bool) -> None:
            self.maybe_wait(wait)
            principal = vault.functions.principalOf(u).call()
            amount = int(principal * fraction)
            error = "ZeroAmount" if amount == 0 else self.user_error(u)
            if (
                error is None
                and amount
                > token.functions.balanceOf(vault.address).call()
                + vault.functions.totalDebt().call()
            ):
                error = "InsufficientLiquidity"
            received = self.paid(u, vault.functions.withdraw(amount), error)
            assert received == (amount if error is None else 0)
            assert vault.functions.principalOf(u).call() == principal - received

        @rule(u=st.sampled_from(users))
        def overdraw(self, u: str) -> None:
            principal = vault.functions.principalOf(u).call()
            error = self.user_error(u) or "InsufficientBalance"
            assert self.paid(u, vault.functions.withdraw(principal + 1), error) == 0

        @rule(u=st.sampled_from(users), wait=st.booleans())
        def exit(self, u: str, wait: bool) -> None:
            self.maybe_wait(wait)
            owed = vault.functions.owedTo(u).call()
            error = self.user_error(u) or ("ZeroAmount" if owed == 0 else None)
            received = self.paid(u, vault.functions.exit(), error)
            assert received == (owed if error is None else 0)
            if error is None:  # nothing is left to take
                assert vault.functions.owedTo(u).call() == 0

        @rule(u=st.sampled_from(users), wait=st.booleans())
        def claim(self, u: str, wait: bool) -> None:
            self.maybe_wait(wait)
            pending = vault.functions.pendingRewards(u).call()
            error = self.user_error(u) or ("ZeroAmount" if pending == 0 else None)
            assert self.paid(u, vault.functions.claimRewards(), error) == (
                pending if error is None else 0
            )
            if error is None:  # a claim cannot be repeated
                assert vault.functions.pendingRewards(u).call() == 0

        # -------------------------------------------------------------- operator and admin rules

        @rule(i=st.integers(0, 2), amount=amounts)
        def strategy_earns(self, i: int, amount: int) -> None:
            self.expect(s.admin, token.functions.mint(pool[i].address, amount), None)

        @rule(i=st.integers(0, 2), earned=st.one_of(st.just(0), amounts))
        def harvest(self, i: int, earned: int) -> None:
            if earned:  # the strategy made money since the last harvest
                self.expect(s.admin, token.functions.mint(pool[i].address, earned), None)
            self.expect(
                s.operator, vault.functions.harvest(pool[i].address), self.operator_error(pool[i])
            )

        @rule(i=st.integers(0, 2), fraction=st.floats(0.0, 1.0))
        def rebalance(self, i: int, fraction: float) -> None:
            strategy = pool[i]
            debt = vault.functions.strategyDebt(strategy.address).call()
            idle = token.functions.balanceOf(vault.address).call()
            target = int((debt + idle) * fraction)
            self.expect(
                s.operator,
                vault.functions.rebalance(strategy.address, target),
                self.operator_error(strategy),
            )

        @rule(i=st.integers(0, 2))
        def add_or_retire(self, i: int) -> None:
            strategy = pool[i]
            if strategy.address in self.active:
                self.expect(s.admin, vault.functions.retireStrategy(strategy.address), None)
                self.active.discard(strategy.address)
            else:
                error = "EmergencyShutdownActive" if self.shutdown else None
                self.expect(s.admin, vault.functions.addStrategy(strategy.address), error)
                if error is None:
                    self.active.add(strategy.address)

        @rule(u=st.sampled_from(users), score=st.integers(200, 1000))
        def set_phi(self, u: str, score: int) -> None:
            self.expect(s.operator, vault.functions.setPhiScore(u, score), None)

        @rule()
        def toggle_pause(self) -> None:
            call = vault.functions.unpause() if self.paused else vault.functions.pause()
            self.expect(s.admin, call, None)
            self.paused = not self.paused

        @precondition(lambda self: not self.shutdown)
        @rule(gate=st.integers(0, 2))
        def emergency_shutdown(self, gate: int) -> None:
            if gate == 0:  # rarer than the other rules: most sequences should run "open"
                self.expect(s.admin, vault.functions.activateEmergencyShutdown(), None)
                self.shutdown = True
                self.active.clear()  # mock strategies always pay back

        def maybe_wait(self, wait: bool) -> None:
            """Half of the user actions come after the cooldown; the others may hit it."""
            if wait:
                _bump("time_travels")
                chain.increase_time(61)
                self.acted.clear()

        # -------------------------------------------------------------- invariants

        @invariant()
        def assets_cover_what_users_can_withdraw(self) -> None:
            _bump("invariant_checks")
            assets = vault.functions.totalAssets().call()
            liabilities = vault.functions.totalLiabilities().call()
            owed = [vault.functions.owedTo(u).call() for u in users]
            assert assets >= liabilities >= sum(owed)

        @invariant()
        def model_matches_chain(self) -> None:
            assert vault.functions.paused().call() == self.paused
            assert vault.functions.emergencyShutdown().call() == self.shutdown
            assert set(vault.functions.strategies().call()) == self.active

        @invariant()
        def during_shutdown_every_user_can_exit(self) -> None:
            if not self.shutdown:
                return
            for u in users:
                if vault.functions.owedTo(u).call() > 0:
                    vault.functions.exit().call({"from": u})  # raises if it would revert
                    _bump("shutdown_exit_checks")

    return AggregatorMachine


def test_aggregator_invariants_hold_under_random_operation(system: System) -> None:
    s3 = system.chain.deploy(
        "MockStrategy", system.token.address, system.vault.address, sender=system.admin
    )
    machine = make_machine(system, s3)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS_PER_EXAMPLE,
            deadline=None,
            database=None,
            # Shrinking replays hundreds of sequences against the node: minutes. A failure is
            # reported with its full (unshrunk) step list instead, which is readable enough.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert STATS["steps"] > EXAMPLES  # the machine really ran
