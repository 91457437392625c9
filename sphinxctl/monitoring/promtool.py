"""Run promtool (Debian's `prometheus` package) on the rules, their tests and dashboard queries."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel

from sphinxctl.errors import MonitoringError, PromtoolMissing
from sphinxctl.monitoring.coverage import DashboardQuery
from sphinxctl.monitoring.rules import RULE_TESTS_DIR, RULES_DIR, rule_files, rule_test_files


class PromtoolResult(BaseModel):
    """A finished promtool run."""

    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _run_promtool(args: Sequence[str], root: Path, promtool: str, timeout: float) -> PromtoolResult:
    command = [promtool, *args]
    try:
        proc = subprocess.run(
            command, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise PromtoolMissing(f"promtool not found ({promtool})") from exc
    except PermissionError as exc:
        raise PromtoolMissing(f"promtool cannot run ({promtool}): {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise MonitoringError(
            f"promtool {' '.join(args[:2])} did not finish within {timeout:g}s",
            hint="Look for rule tests with very long input series.",
        ) from exc
    return PromtoolResult(
        command=command, returncode=proc.returncode, output=proc.stdout + proc.stderr
    )


def _relative(paths: Iterable[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in paths]


def run_promtool_check(
    root: Path, *, promtool: str = "promtool", timeout: float = 60.0
) -> PromtoolResult:
    """`promtool check rules alert_rules/*.yaml`."""
    files = rule_files(root)
    if not files:
        raise MonitoringError(f"no rule files under {root / RULES_DIR}")
    return _run_promtool(["check", "rules", *_relative(files, root)], root, promtool, timeout)


def run_promtool_test(
    root: Path, *, promtool: str = "promtool", timeout: float = 120.0
) -> PromtoolResult:
    """`promtool test rules alert_rules/tests/*.yaml`."""
    files = rule_test_files(root)
    if not files:
        raise MonitoringError(f"no promtool rule tests under {root / RULE_TESTS_DIR}")
    return _run_promtool(["test", "rules", *_relative(files, root)], root, promtool, timeout)


def run_promtool_check_queries(
    queries: Sequence[DashboardQuery], *, promtool: str = "promtool", timeout: float = 60.0
) -> PromtoolResult:
    """Parse dashboard queries with promtool (as recording rules; Grafana variables replaced)."""
    rules = [
        {"record": f"dashboard:query:{i}", "expr": _grafana_to_promql(q.expr)}
        for i, q in enumerate(queries)
    ]
    with tempfile.TemporaryDirectory(prefix="sphinx-dashboards-") as tmp:
        path = Path(tmp) / "dashboard_queries.yaml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
        return _run_promtool(["check", "rules", path.name], Path(tmp), promtool, timeout)


def _grafana_to_promql(expr: str) -> str:
    text = re.sub(r"\$\{?__(?:rate_)?interval\}?|\$\{?__range\}?", "5m", expr)
    return re.sub(r"\$\{[^}]*\}|\$\w+", ".*", text)
