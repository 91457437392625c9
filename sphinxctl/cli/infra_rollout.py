"""`sphinxctl infra rollout [status|promote|abort]`: the canary rollout with metric gates.

Progress goes to stderr; the result to stdout (`-o json`). Start, every step's verdict, a
pause, promotion and abort are appended to the audit trail (the store is checked before the
rollout touches the cluster, so nothing happens unrecorded).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.infra.rollout import Rollout
    from sphinxctl.infra.rollout_models import RolloutEvent, RolloutResult
    from sphinxctl.store import Store

app = typer.Typer(help="Canary rollout of the API with metric gates.")

KUBECONFIG = typer.Option(None, "--kubeconfig", help="Kubeconfig file (default: settings).")
CONTEXT = typer.Option(None, "--context", help="Kubeconfig context (default: settings).")
MANIFESTS = typer.Option(None, "--manifests-dir", help="Template directory (default: manifests/).")
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")
AUDITED = frozenset({"start", "resume", "verdict", "pause", "promote", "abort"})


def parse_duration(text: str) -> float:
    """Seconds of `300`, `30s`, `5m`, `1h`, `500ms` (`sphinxctl.durations`), above zero."""
    from sphinxctl.durations import parse_seconds
    from sphinxctl.errors import UsageError

    try:
        seconds = parse_seconds(text)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise UsageError(f"--pause {text!r}: a duration such as 30s, 5m or 1h")
    return seconds


def parse_steps(text: str) -> list[int]:
    from sphinxctl.errors import UsageError

    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--steps {text!r}: comma-separated percentages, e.g. 10,50,100") from None
    if not steps or steps != sorted(set(steps)) or steps[0] <= 0 or steps[-1] != 100:
        raise UsageError(f"--steps {text!r}: increasing percentages ending at 100")
    return steps


@contextmanager
def _rollout(
    state: CliState,
    kubeconfig: Path | None,
    context: str | None,
    manifests_dir: Path | None,
    *,
    strict: bool,
    audit: str | None,
) -> Iterator[Rollout]:
    """A Rollout on the cluster; with `audit`, its events go to the audit trail too."""
    from sphinxctl.cli.infra import _stack
    from sphinxctl.infra.rollout import Rollout
    from sphinxctl.infra.rollout_analysis import Prometheus

    store = _audit_store(state, audit) if audit else None
    try:
        with _stack(state, kubeconfig, context, strict=strict, manifests_dir=manifests_dir) as st:
            prom = Prometheus.from_settings(st.settings.rollout)
            yield Rollout(ctx=st, prometheus=prom, notify=_notifier(state, store))
    finally:
        if store is not None:
            store.close()


def _audit_store(state: CliState, refusing: str) -> Store:
    from sphinxctl.cli.audit_sink import ready_store

    return ready_store(state, refusing=refusing)


def _notifier(state: CliState, store: Store | None) -> Any:
    from sphinxctl.cli.audit_sink import OPERATOR_ROLE, local_operator, refused
    from sphinxctl.errors import StoreError

    styles = {"verdict": "bold", "pause": "yellow", "abort": "red", "promote": "green"}

    def notify(event: RolloutEvent) -> None:
        style = styles.get(event.kind, "cyan")
        state.err.print(f"[{style}]{event.kind}[/] {event.message}", highlight=False)
        if store is None or event.kind not in AUDITED:
            return
        params: dict[str, Any] = {"message": event.message, "step": event.step}
        result = "ok"
        if event.analysis is not None:
            params["analysis"] = event.analysis.model_dump(mode="json")
            result = "ok" if event.analysis.passed else "failed"
        try:
            store.append_audit(
                local_operator(),
                OPERATOR_ROLE,
                f"infra.rollout.{event.kind}",
                f"rollout:{event.rollout}",
                params,
                result,
            )
        except StoreError as exc:
            raise refused(exc, "the rollout stopped") from exc.__cause__

    return notify


@app.callback(invoke_without_command=True)
def rollout(
    ctx: typer.Context,
    image: str | None = typer.Option(None, "--image", help="Image of the canary (to start)."),
    steps: str | None = typer.Option(
        None, "--steps", help="Traffic shares in %, e.g. 10,50,100 (default: rollout.steps)."
    ),
    pause: str | None = typer.Option(
        None, "--pause", help="Analysis window per step, e.g. 5m (default: rollout.pause_seconds)."
    ),
    yes: bool = YES,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; change nothing."),
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    manifests_dir: Path | None = MANIFESTS,
) -> None:
    """Start a canary rollout of --image, or resume the one in progress: per step, shift the
    share, wait --pause, compare the canary's 5xx ratio and p99 with the stable's; a failed
    step rolls back (exit 3), the last passed step promotes."""
    if ctx.invoked_subcommand is not None:
        return
    from sphinxctl.errors import RolloutPaused, RolloutRolledBack
    from sphinxctl.infra.rollout import RolloutRequest

    state = get_state(ctx)
    request = RolloutRequest(
        image=image,
        steps=parse_steps(steps) if steps else None,
        pause_seconds=parse_duration(pause) if pause else None,
        dry_run=dry_run,
    )
    if not dry_run:
        what = f"a canary rollout of {image}" if image else "the rollout in progress"
        _confirm(state, yes, f"Run {what} in environment {state.env!r}?")
    audit = None if dry_run else "the rollout was not started"
    with _rollout(state, kubeconfig, context, manifests_dir, strict=True, audit=audit) as runner:
        result = runner.run(request)
    _emit(state, result)
    details = {"rollout": result.rollout.id if result.rollout else None}
    if result.outcome == "rolled-back":
        raise RolloutRolledBack(
            f"canary rolled back: {result.message}",
            hint="the stable serves all traffic again; see `sphinxctl infra rollout status`",
            details=details,
        )
    if result.outcome == "paused":
        raise RolloutPaused(result.message, details=details)


@app.command()
def status(
    ctx: typer.Context, kubeconfig: Path | None = KUBECONFIG, context: str | None = CONTEXT
) -> None:
    """The recorded rollout: phase, step, verdicts with both tracks' figures."""
    state = get_state(ctx)
    with _rollout(state, kubeconfig, context, None, strict=False, audit=None) as runner:
        result = runner.status()
    _emit(state, result)


@app.command()
def promote(
    ctx: typer.Context,
    yes: bool = YES,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    manifests_dir: Path | None = MANIFESTS,
) -> None:
    """Promote the canary now, skipping the remaining steps and their analysis."""
    state = get_state(ctx)
    _confirm(state, yes, "Promote the canary now, skipping the remaining analysis?")
    audit = "the canary was not promoted"
    with _rollout(state, kubeconfig, context, manifests_dir, strict=True, audit=audit) as runner:
        result = runner.promote_now()
    _emit(state, result)


@app.command()
def abort(
    ctx: typer.Context,
    yes: bool = YES,
    kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
) -> None:
    """Stop the rollout: canary to 0 pods, stable back to its replica count."""
    state = get_state(ctx)
    _confirm(state, yes, "Abort the rollout and restore the stable?")
    audit = "the rollout was not aborted"
    with _rollout(state, kubeconfig, context, None, strict=False, audit=audit) as runner:
        result = runner.abort("aborted by the operator")
    _emit(state, result)


def _confirm(state: CliState, yes: bool, question: str) -> None:
    import sys

    from sphinxctl.errors import Aborted, ConfirmationRequired

    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationRequired(f"{question} needs confirmation")
    if not typer.confirm(question):
        raise Aborted("nothing was changed")


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2%}" if kind == "ratio" else f"{value * 1000:.0f} ms"


def _emit(state: CliState, result: RolloutResult) -> None:
    def table() -> RenderableType:
        from rich.console import Group
        from rich.table import Table

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
            row = [str(step.step), f"{step.share} %"]
            row.append(f"{step.canary_replicas}/{step.stable_replicas}")
            if found is None:
                row += ["", "", "", "", "pending"]
            else:
                row += [
                    _fmt(found.stable.error_ratio, "ratio"),
                    _fmt(found.stable.p99_seconds, "p99"),
                    _fmt(found.canary.error_ratio, "ratio"),
                    _fmt(found.canary.p99_seconds, "p99"),
                    "[green]passed[/]" if found.passed else "[red]failed[/]",
                ]
            grid.add_row(*row)
        return Group(grid, result.message)

    emit(state, result, table)
