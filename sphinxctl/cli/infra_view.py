"""Rendering for `sphinxctl infra` and `infra rollout`: cluster progress on stderr, change and
status tables, lint findings, the rollout's step table. Imported only when those commands run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.syntax import Syntax
from rich.table import Table

from sphinxctl.errors import ChecksFailed

if TYPE_CHECKING:
    from rich.console import Console

    from sphinxctl.infra.models import (
        DiffResult,
        DownResult,
        HistoryResult,
        LintFinding,
        ObjectChange,
        ObjectDiff,
        ProgressEvent,
        StatusResult,
        UpResult,
    )
    from sphinxctl.infra.rollout_models import RolloutResult

CHANGE_STYLES = {"create": "green", "configure": "yellow", "prune": "red", "delete": "red"}


class StackProgress:
    """Renders the stack's ProgressEvents: a bar while waiting for readiness, else a line."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self._bar = Progress(
            TextColumn("[cyan]wait[/cyan]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
        )
        self._task: Any = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.phase == "wait" and event.total is not None:
            if self._task is None:
                self._bar.start()
                self._task = self._bar.add_task("", total=event.total)
            self._bar.update(self._task, completed=event.ready, description=event.message[:80])
            return
        self.err.print(f"[dim]{event.phase}[/dim] {event.message}", highlight=False)

    def stop(self) -> None:
        if self._task is not None:
            self._bar.stop()


def changes_table(title: str, changes: list[ObjectChange], all_rows: bool = False) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("object", "action", "detail"):
        table.add_column(column)
    for change in changes:
        if all_rows or change.action != "unchanged":
            style = CHANGE_STYLES.get(change.action, "")
            table.add_row(
                change.object,
                f"[{style}]{change.action}[/]" if style else change.action,
                change.detail or "",
            )
    return table


def summary(changes: list[ObjectChange] | list[ObjectDiff]) -> str:
    """`2 create, 5 unchanged`: how many objects took each action."""
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} {action}" for action, n in counts.items()) or "no objects"


def diff_view(result: DiffResult) -> RenderableType:
    parts: list[RenderableType] = [
        Syntax(o.diff, "diff", background_color="default") for o in result.objects if o.diff
    ]
    parts.append(summary(result.objects) if result.objects else "")
    return Group(*parts)


def up_view(result: UpResult) -> RenderableType:
    """The result of `infra up` and `infra rollback`."""
    if result.dry_run:
        tail = "dry run: nothing was changed"
    elif result.recorded_revision:
        tail = f"revision {result.revision} recorded"
    else:
        tail = f"nothing changed; revision {result.revision} is current"
    title = f"{result.environment} → namespace {result.namespace}"
    if not any(c.action != "unchanged" for c in result.changes):
        return f"{title}: {summary(result.changes)}; {tail}"
    return Group(changes_table(title, result.changes), f"{summary(result.changes)}; {tail}")


def down_view(result: DownResult) -> RenderableType:
    return Group(
        changes_table(f"namespace {result.namespace}", result.changes, True),
        summary(result.changes),
    )


def status_view(result: StatusResult) -> RenderableType:
    revision = result.revision if result.revision is not None else "none"
    table = Table(
        title=f"{result.namespace} on {result.server} (revision {revision})", title_justify="left"
    )
    for column in ("object", "exists", "ready", "detail"):
        table.add_column(column)
    for item in result.objects:
        table.add_row(
            item.object,
            "yes" if item.exists else "[red]no[/red]",
            "[green]yes[/green]" if item.ready else "[red]no[/red]",
            item.detail,
        )
    return table


def history_view(result: HistoryResult) -> RenderableType:
    table = Table(title=f"revisions in {result.namespace}", title_justify="left")
    for column in ("revision", "created", "status", "objects", "description"):
        table.add_column(column)
    for rev in result.revisions:
        table.add_row(str(rev.revision), rev.created, rev.status, str(rev.objects), rev.description)
    return table


def lint_outcome(err: Console, findings: list[LintFinding]) -> ChecksFailed | None:
    """Print each readiness-lint finding on stderr; the error to exit with if any is an error."""
    for finding in findings:
        where = finding.object + (f" [{finding.container}]" if finding.container else "")
        color = "red" if finding.severity == "error" else "yellow"
        err.print(
            f"[{color}]{finding.severity}[/] {finding.rule} {where}: {finding.message}",
            highlight=False,
        )
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        return ChecksFailed(
            f"{len(errors)} readiness lint error(s) in the rendered stack",
            hint="fix the templates in manifests/ or the kubernetes settings",
        )
    err.print(f"[green]lint: {len(findings)} finding(s), no errors[/green]")
    return None


def _figure(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2%}" if kind == "ratio" else f"{value * 1000:.0f} ms"


def rollout_view(result: RolloutResult) -> RenderableType:
    """The rollout's plan, one row per step with both tracks' figures and the verdict."""
    record = result.rollout
    if record is None:
        return result.message
    title = (
        f"rollout {record.id} in {result.namespace}: {record.previous_image} -> "
        f"{record.image} [{record.phase}]"
    )
    grid = Table(title=title, title_justify="left")
    columns = ("step", "share", "pods c/s", "stable 5xx", "stable p99", "canary 5xx")
    for column in (*columns, "canary p99", "verdict"):
        grid.add_column(column)
    verdicts = {v.step: v for v in record.verdicts}
    for step in result.plan:
        found = verdicts.get(step.step)
        row = [str(step.step), f"{step.share} %", f"{step.canary_replicas}/{step.stable_replicas}"]
        if found is None:
            row += ["", "", "", "", "pending"]
        else:
            row += [
                _figure(found.stable.error_ratio, "ratio"),
                _figure(found.stable.p99_seconds, "p99"),
                _figure(found.canary.error_ratio, "ratio"),
                _figure(found.canary.p99_seconds, "p99"),
                "[green]passed[/]" if found.passed else "[red]failed[/]",
            ]
        grid.add_row(*row)
    return Group(grid, result.message)
