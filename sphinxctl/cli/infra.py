"""`sphinxctl infra`: render, lint, diff, apply, inspect, roll back and tear down the
Kubernetes stack. The kubernetes library is imported only when a command runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.infra_rollout import app as rollout_app
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.infra.context import StackContext
    from sphinxctl.infra.models import ObjectChange, ProgressEvent

app = typer.Typer(help="Create and manage the Kubernetes stack.", no_args_is_help=True)
app.add_typer(rollout_app, name="rollout")

KUBECONFIG = typer.Option(
    None,
    "--kubeconfig",
    help="Kubeconfig file (default: settings, then $KUBECONFIG or ~/.kube/config).",
)
CONTEXT = typer.Option(
    None,
    "--context",
    help="Kubeconfig context (default: settings, then the file's current context).",
)
MANIFESTS = typer.Option(None, "--manifests-dir", help="Template directory (default: manifests/).")
TIMEOUT = typer.Option(300.0, "--timeout", min=1, help="Seconds --wait may take.")
WAIT = typer.Option(False, "--wait", help="Wait until workloads are ready and claims bound.")
RECREATE = typer.Option(
    False,
    "--recreate",
    help="Delete and re-create objects whose change touches an immutable field.",
)


def _sources(state: CliState, manifests_dir: Path | None) -> Any:
    from sphinxctl.infra.render import Sources

    return Sources.under(state.project_root, manifests_dir)


@contextmanager
def _stack(
    state: CliState,
    kubeconfig: Path | None,
    context: str | None,
    *,
    strict: bool,
    manifests_dir: Path | None = None,
) -> Iterator[StackContext]:
    """A cluster connection with progress rendered on stderr (a bar while waiting)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from sphinxctl.infra.context import open_stack

    progress = Progress(
        TextColumn("[cyan]wait[/cyan]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=state.err,
        transient=True,
    )
    task: list[Any] = []

    def on_event(event: ProgressEvent) -> None:
        if event.phase == "wait" and event.total is not None:
            if not task:
                progress.start()
                task.append(progress.add_task("", total=event.total))
            progress.update(task[0], completed=event.ready, description=event.message[:80])
            return
        state.err.print(f"[dim]{event.phase}[/dim] {event.message}", highlight=False)

    settings = state.settings(strict=strict)
    configured = settings.kubernetes.kubeconfig
    if kubeconfig is None and configured is not None and not configured.expanduser().is_absolute():
        kubeconfig = state.project_root / configured  # a path in the file is project-relative
    stack = open_stack(
        settings,
        kubeconfig=kubeconfig,
        context=context,
        sources=_sources(state, manifests_dir),
        on_event=on_event,
    )
    try:
        with stack:
            yield stack
    finally:
        if task:
            progress.stop()


def _changes_table(title: str, changes: list[ObjectChange], all_rows: bool = False) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("object", "action", "detail"):
        table.add_column(column)
    styles = {"create": "green", "configure": "yellow", "prune": "red", "delete": "red"}
    for change in changes:
        if all_rows or change.action != "unchanged":
            style = styles.get(change.action, "")
            table.add_row(
                change.object,
                f"[{style}]{change.action}[/]" if style else change.action,
                change.detail or "",
            )
    return table


def _summary(changes: list[ObjectChange]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} {action}" for action, n in counts.items()) or "no objects"


@app.command()
def render(
    ctx: typer.Context,
    lint: bool = typer.Option(
        False, "--lint", help="Also run the readiness lints (exit 3 on errors)."
    ),
    manifests_dir: Path | None = MANIFESTS,
) -> None:
    """Print the stack as YAML (Secret values redacted); needs no cluster and no secrets."""
    from sphinxctl.errors import ChecksFailed
    from sphinxctl.infra.render import render as render_stack
    from sphinxctl.infra.render import to_yaml

    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    result = render_stack(state.settings(strict=False), _sources(state, manifests_dir), lint=lint)
    if state.output == "json":
        emit(state, result)
    else:
        state.out.file.write(to_yaml(result.objects))
        state.out.file.flush()
    if lint:
        errors = [f for f in result.findings if f.severity == "error"]
        for finding in result.findings:
            where = finding.object + (f" [{finding.container}]" if finding.container else "")
            state.err.print(
                f"[{'red' if finding.severity == 'error' else 'yellow'}]"
                f"{finding.severity}[/] {finding.rule} {where}: {finding.message}",
                highlight=False,
            )
        if errors:
            raise ChecksFailed(
                f"{len(errors)} readiness lint error(s) in the rendered stack",
                hint="fix the templates in manifests/ or the kubernetes settings",
            )
        state.err.print(f"[green]lint: {len(result.findings)} finding(s), no errors[/green]")


@app.command()
def diff(
    ctx: typer.Context,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    manifests_dir: Path | None = MANIFESTS,
) -> None:
    """Server dry-run of the stack against the cluster, as unified diffs (secrets masked)."""
    from sphinxctl.infra.queries import diff as diff_stack

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=True, manifests_dir=manifests_dir) as stack:
        result = diff_stack(stack)

    def table() -> RenderableType:
        from rich.console import Group
        from rich.syntax import Syntax

        parts: list[Any] = [
            Syntax(o.diff, "diff", background_color="default") for o in result.objects if o.diff
        ]
        counts: dict[str, int] = {}
        for item in result.objects:
            counts[item.action] = counts.get(item.action, 0) + 1
        parts.append(", ".join(f"{n} {a}" for a, n in counts.items()))
        return Group(*parts)

    emit(state, result, table)


@app.command()
def up(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Server dry run: change nothing."),
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="Take over fields another field manager owns."
    ),
    recreate: bool = RECREATE,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    manifests_dir: Path | None = MANIFESTS,
) -> None:
    """Apply the stack (server-side apply, install order), prune what was removed, record a
    revision; with --wait, wait for readiness."""
    from sphinxctl.infra.apply import up as up_stack

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=True, manifests_dir=manifests_dir) as stack:
        result = up_stack(
            stack,
            dry_run=dry_run,
            wait=wait,
            timeout=timeout,
            force_conflicts=force_conflicts,
            recreate=recreate,
        )
    _emit_up(state, result)


def _emit_up(state: CliState, result: Any) -> None:
    def table() -> RenderableType:
        from rich.console import Group

        if result.dry_run:
            tail = "dry run: nothing was changed"
        elif result.recorded_revision:
            tail = f"revision {result.revision} recorded"
        else:
            tail = f"nothing changed; revision {result.revision} is current"
        title = f"{result.environment} → namespace {result.namespace}"
        if not any(c.action != "unchanged" for c in result.changes):
            return f"{title}: {_summary(result.changes)}; {tail}"
        return Group(_changes_table(title, result.changes), f"{_summary(result.changes)}; {tail}")

    emit(state, result, table)


@app.command()
def status(
    ctx: typer.Context,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
) -> None:
    """Existence and readiness of every object of the deployed revision."""
    from sphinxctl.infra.queries import status as stack_status

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=False) as stack:
        result = stack_status(stack)

    def table() -> RenderableType:
        from rich.table import Table

        revision = result.revision if result.revision is not None else "none"
        table = Table(
            title=f"{result.namespace} on {result.server} (revision {revision})",
            title_justify="left",
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

    emit(state, result, table)


@app.command()
def history(
    ctx: typer.Context,
    show: int | None = typer.Option(None, "--show", help="Print this revision's objects."),
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
) -> None:
    """The recorded revisions (values of Secrets are never stored)."""
    from sphinxctl.infra.queries import history as stack_history
    from sphinxctl.infra.render import to_yaml

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=False) as stack:
        result = stack_history(stack, show=show)

    def table() -> RenderableType:
        from rich.table import Table

        if result.manifest is not None:
            return to_yaml(result.manifest)
        table = Table(title=f"revisions in {result.namespace}", title_justify="left")
        for column in ("revision", "created", "status", "objects", "description"):
            table.add_column(column)
        for rev in result.revisions:
            table.add_row(
                str(rev.revision), rev.created, rev.status, str(rev.objects), rev.description
            )
        return table

    if result.manifest is not None and state.output == "table":
        state.out.file.write(to_yaml(result.manifest))
        return
    emit(state, result, table)


@app.command()
def rollback(
    ctx: typer.Context,
    to: int | None = typer.Option(
        None, "--to", help="Revision to return to (default: the one before the current)."
    ),
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    recreate: bool = RECREATE,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
) -> None:
    """Re-apply an earlier revision (recorded as a new revision)."""
    from sphinxctl.infra.apply import rollback as rollback_stack

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=True) as stack:
        result = rollback_stack(stack, to=to, wait=wait, timeout=timeout, recreate=recreate)
    _emit_up(state, result)


@app.command()
def down(
    ctx: typer.Context,
    delete_volumes: bool = typer.Option(
        False, "--delete-volumes", help="Also delete the PersistentVolumeClaims (the data)."
    ),
    delete_namespace: bool = typer.Option(
        False, "--delete-namespace", help="Also delete the namespace (needs --delete-volumes)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
) -> None:
    """Delete the stack in reverse install order; volumes and namespace stay by default."""
    from sphinxctl.infra.teardown import down as down_stack

    state = get_state(ctx)
    namespace = state.settings(strict=False).kubernetes.namespace
    _confirm(
        state,
        yes,
        f"Delete the Sphinx stack in namespace {namespace!r}"
        + (" including its volumes" if delete_volumes else "")
        + "?",
    )
    with _stack(state, kubeconfig, context, strict=False) as stack:
        result = down_stack(stack, delete_volumes=delete_volumes, delete_namespace=delete_namespace)

    def table() -> RenderableType:
        from rich.console import Group

        return Group(
            _changes_table(f"namespace {result.namespace}", result.changes, True),
            _summary(result.changes),
        )

    emit(state, result, table)


def _confirm(
    state: CliState, yes: bool, question: str, ask: Callable[[str], bool] | None = None
) -> None:
    import sys

    from sphinxctl.errors import Aborted, ConfirmationRequired

    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationRequired(f"{question} needs confirmation")
    if not (ask or typer.confirm)(question):
        raise Aborted("nothing was deleted")
