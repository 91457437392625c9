"""Render a ChecklistReport: a rich table for people, JUnit XML for CI (JSON/YAML via emit)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from sphinxctl.checks.checklist import AREAS
from sphinxctl.checks.model import ChecklistReport, CheckResult, Status
from sphinxctl.errors import ChecksFailed

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.cli.context import CliState

STYLES = {
    Status.PASS: ("✓ pass", "green"),
    Status.FAIL: ("✗ fail", "bold red"),
    Status.WARN: ("! warn", "yellow"),
    Status.MANUAL: ("? manual", "magenta"),
    Status.SKIP: ("- skip", "dim"),
}

_TITLES = {key: title for key, title in AREAS.values()}


def show_report(state: CliState, report: ChecklistReport, output_file: Path | None) -> None:
    """The report in the -o format on stdout; with `output_file`, the file gets that format
    (JSON for table) and stdout the table."""
    from sphinxctl.cli.render import dump, emit

    if output_file is not None:
        fmt = "json" if state.output == "table" else state.output
        text = junit(report) if fmt == "junit" else dump(report, fmt)
        output_file.write_text(text, encoding="utf-8")
        state.out.print(table(report))
    elif state.output == "junit":
        state.write(junit(report))
    else:
        emit(state, report, lambda: table(report))


def table(report: ChecklistReport) -> RenderableType:
    """One row per item, grouped by area; how to fix under each failure; summary last."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=f"Readiness of {report.environment}", title_justify="left", expand=True)
    grid.add_column("id", no_wrap=True)
    grid.add_column("status", no_wrap=True)
    grid.add_column("must be true / finding / how to fix", ratio=1)
    area = None
    for result in report.results:
        if result.area != area:
            area = result.area
            grid.add_section()
            grid.add_row("", "", Text(_TITLES.get(area, area), style="bold underline"))
        label, style = STYLES[result.status]
        cell = Text(result.title)
        cell.append("\n" + result.reason, style="dim" if result.status == Status.PASS else "")
        if result.hint and result.status in (Status.FAIL, Status.WARN):
            cell.append("\nfix: ", style="bold cyan")
            cell.append(result.hint)
        grid.add_row(result.id, Text(label, style=style), cell)
    lines = [Text(summary_line(report))]
    if report.summary.manual:
        lines.append(Text(manual_line(report), style="magenta"))
    return Group(grid, *lines)


def manual_line(report: ChecklistReport) -> str:
    """How to clear unattested manual items."""
    return (
        f"{report.summary.manual} manual item(s) unattested: verify each, then sign it off in "
        f"deployments/{report.environment}.attestations.yaml (id, who, when, evidence)"
        + ("" if report.allow_manual else ", or pass --allow-manual")
    )


def summary_line(report: ChecklistReport) -> str:
    s = report.summary
    verdict = "READY" if report.ok else "NOT READY"
    return (
        f"{verdict}: {s.total} items — {s.passed} pass, {s.failed} fail, {s.warned} warn, "
        f"{s.manual} manual, {s.skipped} skip ({report.wall_seconds:.1f} s)"
    )


def not_ready(report: ChecklistReport) -> ChecksFailed:
    """The error `sphinxctl check` ends with when the environment is not ready (exit 3)."""
    failing = report.failing()
    failed = [r.id for r in failing if r.status == Status.FAIL]
    manual = [r.id for r in failing if r.status == Status.MANUAL]
    parts = [f"{len(failed)} failed: {', '.join(failed)}"] if failed else []
    parts += [f"{len(manual)} manual item(s) unattested"] if manual else []
    return ChecksFailed(
        f"{report.environment} is not ready: " + "; ".join(parts),
        hint="fix each failed item as its row says"
        + ("; attest manual items or pass --allow-manual" if manual else ""),
        details={"failed": failed, "unattested": manual},
    )


def junit(report: ChecklistReport) -> str:
    """JUnit XML: one testsuite per area, one testcase per item."""
    root = ET.Element(
        "testsuites",
        name=f"sphinxctl check {report.environment}",
        tests=str(report.summary.total),
        failures=str(len(report.failing())),
        time=f"{report.wall_seconds:.3f}",
    )
    by_area: dict[str, list[CheckResult]] = {}
    for result in report.results:
        by_area.setdefault(result.area, []).append(result)
    for area, results in by_area.items():
        failing = {r.id for r in report.failing()}
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{report.environment}.{area}",
            tests=str(len(results)),
            failures=str(sum(1 for r in results if r.id in failing)),
            skipped=str(sum(1 for r in results if _skipped(r, failing))),
            time=f"{sum(r.duration_seconds for r in results):.3f}",
        )
        for result in results:
            _testcase(suite, report, result, failing)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _skipped(result: CheckResult, failing: set[str]) -> bool:
    return result.id not in failing and result.status in (Status.SKIP, Status.MANUAL)


def _testcase(
    suite: ET.Element, report: ChecklistReport, result: CheckResult, failing: set[str]
) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"sphinxctl.check.{report.environment}.{result.area}",
        name=f"{result.id} {result.title}",
        time=f"{result.duration_seconds:.3f}",
    )
    message = f"{result.id}: {result.reason}"
    if result.id in failing:
        failure = ET.SubElement(case, "failure", message=message, type=result.status.value)
        failure.text = f"{result.reason}\nfix: {result.hint}" if result.hint else result.reason
    elif _skipped(result, failing):
        ET.SubElement(case, "skipped", message=message)
    elif result.status == Status.WARN:
        out = ET.SubElement(case, "system-out")
        out.text = f"warning: {result.reason}\nfix: {result.hint or ''}"
