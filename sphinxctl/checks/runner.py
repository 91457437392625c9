"""Run checks concurrently, each within its own time budget.

Every check runs in its own daemon thread, so the run takes about as long as its slowest check.
A check still running when its budget is spent is reported as failed ("timed out") and left
behind: its thread cannot hold up the run or the process's exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable

from sphinxctl.checks.checklist import area_of
from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.model import CheckResult, Status
from sphinxctl.checks.registry import Blocked, Check, Outcome
from sphinxctl.errors import SphinxError

_Done = tuple[str, Outcome | Blocked, float]


def run_checks(
    ctx: CheckContext,
    checks: Iterable[Check],
    *,
    timeout_cap: float | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run `checks` concurrently; one CheckResult per check, in id order."""
    pending = {c.id: c for c in checks}
    budgets = {
        c.id: min(c.timeout, timeout_cap) if timeout_cap else c.timeout for c in pending.values()
    }
    done: queue.Queue[_Done] = queue.Queue()
    started = time.monotonic()
    for item in pending.values():
        threading.Thread(
            target=_run_one, args=(ctx, item, done), name=f"check-{item.id}", daemon=True
        ).start()

    raw: dict[str, tuple[Outcome | Blocked, float]] = {}
    while len(raw) < len(pending):
        now = time.monotonic()
        overdue = [
            i for i in pending if i not in raw and now - started >= budgets[i]
        ]  # fmt: skip
        for item_id in overdue:
            raw[item_id] = (_timed_out(budgets[item_id]), budgets[item_id])
        waiting = [budgets[i] for i in pending if i not in raw]
        if not waiting:
            break
        try:
            item_id, outcome, duration = done.get(timeout=max(0.0, min(waiting) - now + started))
        except queue.Empty:
            continue
        if item_id not in raw:
            raw[item_id] = (outcome, duration)

    results = _resolve_blocked(pending, raw)
    if on_result is not None:
        for result in results:
            on_result(result)
    return results


def _run_one(ctx: CheckContext, item: Check, done: queue.Queue[_Done]) -> None:
    start = time.monotonic()
    outcome: Outcome | Blocked
    try:
        outcome = item.function(ctx)
    except Blocked as exc:
        outcome = exc
    except SphinxError as exc:
        outcome = Outcome(Status.FAIL, exc.message, exc.hint or "see the message above")
    except Exception as exc:  # noqa: BLE001 — a bug in a check must not take the whole run down
        outcome = Outcome(
            Status.FAIL,
            f"the check itself failed: {type(exc).__name__}: {exc}",
            "a bug in sphinxctl: report it with this message",
        )
    done.put((item.id, outcome, time.monotonic() - start))


def _timed_out(budget: float) -> Outcome:
    return Outcome(
        Status.FAIL,
        f"no answer within the check's {budget:g} s budget",
        "an endpoint it needs is hanging or unreachable: fix connectivity, "
        "or raise the budget with --timeout",
    )


def _fails(raw: dict[str, tuple[Outcome | Blocked, float]], item_id: str, seen: set[str]) -> bool:
    """Whether `item_id` fails in this run, directly or through what blocks it (no cycles)."""
    found = raw.get(item_id)
    if found is None or item_id in seen:
        return False
    outcome = found[0]
    if isinstance(outcome, Blocked):
        return _fails(raw, outcome.item_id, seen | {item_id})
    return outcome.status == Status.FAIL


def _resolve_blocked(
    pending: dict[str, Check], raw: dict[str, tuple[Outcome | Blocked, float]]
) -> list[CheckResult]:
    """Blocked checks become `skip` when their blocker failed in this run, else `fail`."""
    results: list[CheckResult] = []
    for item_id in sorted(pending):
        item = pending[item_id]
        outcome, duration = raw[item_id]
        if isinstance(outcome, Blocked):
            if _fails(raw, outcome.item_id, seen={item_id}):
                outcome = Outcome(
                    Status.SKIP,
                    f"not evaluated: {outcome.item_id} failed ({outcome.reason})",
                    f"fix {outcome.item_id} first",
                    {"blocked_by": outcome.item_id},
                )
            else:
                outcome = Outcome(
                    Status.FAIL,
                    f"{outcome.reason} (see {outcome.item_id})",
                    outcome.hint or f"fix {outcome.item_id} first",
                    {"blocked_by": outcome.item_id},
                )
        results.append(
            CheckResult(
                id=item_id,
                area=area_of(item_id),
                title=item.title,
                kind="automated",
                check=item.name,
                status=outcome.status,
                reason=outcome.reason,
                hint=outcome.hint,
                duration_seconds=round(duration, 4),
                details=outcome.details,
            )
        )
    return results
