"""The concurrent runner: budgets, blocked items, crashing checks, all-at-once start."""

from __future__ import annotations

import threading
from pathlib import Path

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.model import Status
from sphinxctl.checks.registry import Blocked, Check, Outcome, failed, passed
from sphinxctl.checks.runner import run_checks
from sphinxctl.errors import ChainError


def _ctx() -> CheckContext:
    return CheckContext(env="local", project_root=Path("."), loaded=None)


def _check(item_id: str, fn, timeout: float = 5.0) -> Check:
    return Check(item_id, f"check-{item_id.lower()}", fn, timeout)


def test_a_hanging_check_fails_with_its_budget_and_does_not_hold_the_run() -> None:
    never = threading.Event()

    def hangs(ctx: CheckContext) -> Outcome:
        never.wait()
        return passed("unreachable")

    results = run_checks(
        _ctx(),
        [_check("RPC-001", hangs), _check("CFG-001", lambda c: passed("fine"))],
        timeout_cap=0.3,
    )
    by_id = {r.id: r for r in results}
    assert by_id["RPC-001"].status == Status.FAIL
    assert "no answer within the check's 0.3 s budget" in by_id["RPC-001"].reason
    assert by_id["CFG-001"].status == Status.PASS
    never.set()


def test_every_check_starts_before_any_finishes() -> None:
    """All checks run at once: each waits until all have started (a serial runner deadlocks
    and times out)."""
    barrier = threading.Barrier(5, timeout=5)

    def meets(ctx: CheckContext) -> Outcome:
        barrier.wait()
        return passed("met")

    checks = [_check(f"MON-00{i}", meets) for i in range(1, 6)]
    results = run_checks(_ctx(), checks)
    assert [r.status for r in results] == [Status.PASS] * 5


def test_blocked_item_is_skipped_when_its_blocker_failed_in_the_same_run() -> None:
    def blocker(ctx: CheckContext) -> Outcome:
        return failed("ethereum: no RPC endpoint answers", "start the node")

    def dependent(ctx: CheckContext) -> Outcome:
        raise Blocked("RPC-001", "ethereum: no RPC endpoint answers")

    results = {r.id: r for r in run_checks(_ctx(), [_check("RPC-001", blocker),
                                                    _check("DEP-002", dependent)])}  # fmt: skip
    assert results["RPC-001"].status == Status.FAIL
    assert results["DEP-002"].status == Status.SKIP
    assert results["DEP-002"].details["blocked_by"] == "RPC-001"
    assert "not evaluated: RPC-001 failed" in results["DEP-002"].reason


def test_blocked_item_fails_when_its_blocker_is_not_part_of_the_run() -> None:
    def dependent(ctx: CheckContext) -> Outcome:
        raise Blocked("RPC-001", "ethereum: no RPC endpoint answers")

    (result,) = run_checks(_ctx(), [_check("DEP-002", dependent)])
    assert result.status == Status.FAIL
    assert result.reason == "ethereum: no RPC endpoint answers (see RPC-001)"


def test_errors_inside_checks_become_failures_with_their_message() -> None:
    def sphinx_error(ctx: CheckContext) -> Outcome:
        raise ChainError("polygon: boom", hint="restart it")

    def bug(ctx: CheckContext) -> Outcome:
        raise KeyError("surprise")

    results = {r.id: r for r in run_checks(_ctx(), [_check("RPC-002", sphinx_error),
                                                    _check("RPC-003", bug)])}  # fmt: skip
    assert (results["RPC-002"].status, results["RPC-002"].reason) == (Status.FAIL, "polygon: boom")
    assert results["RPC-002"].hint == "restart it"
    assert results["RPC-003"].status == Status.FAIL
    assert "KeyError" in results["RPC-003"].reason


def test_facts_are_computed_once_per_run_for_all_checks() -> None:
    ctx = _ctx()
    calls: list[int] = []

    def fact() -> int:
        calls.append(1)
        return 42

    def uses(c: CheckContext) -> Outcome:
        return passed(str(c.memo("fact", fact)))

    results = run_checks(ctx, [_check(f"API-00{i}", uses) for i in range(1, 6)])
    assert {r.reason for r in results} == {"42"} and len(calls) == 1


def test_blocking_is_followed_through_chains_but_never_around_a_cycle() -> None:
    def fails(ctx: CheckContext) -> Outcome:
        return failed("no database.url", "set it")

    def blocked_by(item: str):
        def check(ctx: CheckContext) -> Outcome:
            raise Blocked(item, f"needs {item}")

        return check

    chain = {r.id: r for r in run_checks(_ctx(), [
        _check("CFG-003", fails), _check("BAK-001", blocked_by("CFG-003")),
        _check("BAK-002", blocked_by("BAK-001")),
    ])}  # fmt: skip
    assert chain["BAK-002"].status == Status.SKIP
    cycle = {r.id: r for r in run_checks(_ctx(), [
        _check("API-001", blocked_by("API-002")), _check("API-002", blocked_by("API-001")),
    ])}  # fmt: skip
    assert {r.status for r in cycle.values()} == {Status.FAIL}
