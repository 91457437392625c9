"""Monitoring and alerting: promtool on the alert rules and their tests, metric coverage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import Blocked, Outcome, check, failed, passed

if TYPE_CHECKING:
    from sphinxctl.monitoring import PromtoolResult

PROMTOOL_HINT = "fix the rule file promtool names (see alert_rules/), then rerun"
# promtool's rule tests are CPU-bound (about 8 s of CPU for the 14 files, the ten-replica
# scenarios included; several times that on a busy machine): a larger budget.
RULE_TESTS_BUDGET = 45.0


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def rules_checked(ctx: CheckContext) -> PromtoolResult:
    """`promtool check rules` on alert_rules/ (once per run)."""
    from sphinxctl.monitoring import run_promtool_check

    return ctx.memo(
        "promtool-check", lambda: run_promtool_check(ctx.project_root, timeout=ctx.io_timeout)
    )


@check("MON-001", "alert-rules-valid")
def alert_rules_valid(ctx: CheckContext) -> Outcome:
    """The alert rules are valid (promtool check rules)."""
    from sphinxctl.monitoring import rule_files

    result = rules_checked(ctx)
    if not result.ok:
        return failed(f"promtool check rules: {_tail(result.output)}", PROMTOOL_HINT)
    return passed(f"{len(rule_files(ctx.project_root))} rule files valid")


@check("MON-002", "alert-rules-tested", timeout=RULE_TESTS_BUDGET)
def alert_rules_tested(ctx: CheckContext) -> Outcome:
    """The alert rules' unit tests pass (promtool test rules)."""
    from sphinxctl.monitoring import rule_test_files, run_promtool_test

    if not rules_checked(ctx).ok:  # the tests load the rules: invalid rules are MON-001's
        raise Blocked("MON-001", "the alert rules do not load")
    result = run_promtool_test(ctx.project_root, timeout=RULE_TESTS_BUDGET - 1)
    if not result.ok:
        return failed(
            f"promtool test rules: {_tail(result.output)}",
            "run `promtool test rules alert_rules/tests/*.yaml` and fix the failing case",
        )
    return passed(f"{len(rule_test_files(ctx.project_root))} rule test files pass")


@check("MON-003", "alert-metric-coverage")
def alert_metric_coverage(ctx: CheckContext) -> Outcome:
    """Every alerted metric family is watched by a rule; rules use only defined metrics."""
    from sphinxctl.monitoring import check_coverage

    report = check_coverage(ctx.project_root)
    if report.ok:
        return passed("every alerted metric family has a rule; every rule metric exists")
    problems = []
    if report.uncovered_families:
        problems.append("no alert watches: " + ", ".join(report.uncovered_families))
    if report.undefined_metrics:
        problems.append("rules use undefined metrics: " + ", ".join(report.undefined_metrics))
    if report.unknown_recordings:
        problems.append("unknown recording rules: " + ", ".join(report.unknown_recordings))
    return failed(
        "; ".join(problems),
        "add an alert for each family, or fix the metric names (sphinxctl/metrics.py)",
        **report.model_dump(),
    )
