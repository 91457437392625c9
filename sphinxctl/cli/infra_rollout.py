"""`sphinxctl infra rollout [status|promote|abort]`: the canary rollout with metric gates.

Progress goes to stderr; the result to stdout (`-o json`). Start, every step's verdict, a
pause, promotion and abort are appended to the audit trail (the store is checked before the
rollout touches the cluster, so nothing happens unrecorded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.options import NoPrompt
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from sphinxctl.errors import SphinxError
    from sphinxctl.infra.rollout import Rollout
    from sphinxctl.infra.rollout_models import RolloutEvent, RolloutResult
    from sphinxctl.store import Store

app = typer.Typer(help="Canary rollout of the API with metric gates.")

Kubeconfig = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: settings).")
]
KubeContext = Annotated[
    str | None, typer.Option("--context", help="Kubeconfig context (default: settings).")
]
ManifestsDir = Annotated[
    Path | None, typer.Option("--manifests-dir", help="Template directory (default: manifests/).")
]
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
def _rollout(state: CliState, cluster: _Cluster, *, audit: str | None) -> Iterator[Rollout]:
    """A Rollout on the cluster; with `audit`, its events go to the audit trail too."""
    from sphinxctl.cli.infra import _stack
    from sphinxctl.infra.rollout import Rollout
    from sphinxctl.infra.rollout_analysis import Prometheus

    store = _audit_store(state, audit) if audit else None
    try:
        with _stack(
            state,
            cluster.kubeconfig,
            cluster.context,
            strict=cluster.strict,
            manifests_dir=cluster.manifests_dir,
        ) as st:
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
    image: Annotated[
        str | None, typer.Option("--image", help="Image of the canary (to start).")
    ] = None,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps", help="Traffic shares in %, e.g. 10,50,100 (default: rollout.steps)."
        ),
    ] = None,
    pause: Annotated[
        str | None,
        typer.Option(
            "--pause",
            help="Analysis window per step, e.g. 5m (default: rollout.pause_seconds).",
        ),
    ] = None,
    yes: NoPrompt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing.")
    ] = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    manifests_dir: ManifestsDir = None,
) -> None:
    """Start a canary rollout of --image, or resume the one in progress: per step, shift the
    share, wait --pause, compare the canary's 5xx ratio and p99 with the stable's; a failed
    step rolls back (exit 3), the last passed step promotes."""
    if ctx.invoked_subcommand is not None:
        return
    from sphinxctl.infra.rollout import RolloutRequest

    state = get_state(ctx)
    request = RolloutRequest(
        image=image,
        steps=parse_steps(steps) if steps else None,
        pause_seconds=parse_duration(pause) if pause else None,
        dry_run=dry_run,
    )
    what = f"a canary rollout of {image}" if image else "the rollout in progress"
    question = None if dry_run else f"Run {what} in environment {state.env!r}?"
    audit = None if dry_run else "the rollout was not started"
    cluster = _Cluster(kubeconfig, context, manifests_dir, strict=True)
    result = _act(state, cluster, lambda r: r.run(request), question, yes=yes, audit=audit)
    failure = _outcome_error(result)
    if failure is not None:
        raise failure


@app.command()
def status(ctx: typer.Context, kubeconfig: Kubeconfig = None, context: KubeContext = None) -> None:
    """The recorded rollout: phase, step, verdicts with both tracks' figures."""
    _act(get_state(ctx), _Cluster(kubeconfig, context, None, strict=False), lambda r: r.status())


@app.command()
def promote(
    ctx: typer.Context,
    yes: NoPrompt = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    manifests_dir: ManifestsDir = None,
) -> None:
    """Promote the canary now, skipping the remaining steps and their analysis."""
    _act(
        get_state(ctx),
        _Cluster(kubeconfig, context, manifests_dir, strict=True),
        lambda r: r.promote_now(),
        "Promote the canary now, skipping the remaining analysis?",
        yes=yes,
        audit="the canary was not promoted",
    )


@app.command()
def abort(
    ctx: typer.Context,
    yes: NoPrompt = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
) -> None:
    """Stop the rollout: canary to 0 pods, stable back to its replica count."""
    _act(
        get_state(ctx),
        _Cluster(kubeconfig, context, None, strict=False),
        lambda r: r.abort("aborted by the operator"),
        "Abort the rollout and restore the stable?",
        yes=yes,
        audit="the rollout was not aborted",
    )


@dataclass(frozen=True)
class _Cluster:
    """Where a rollout command acts: kubeconfig, context, templates; strict settings or not."""

    kubeconfig: Path | None
    context: str | None
    manifests_dir: Path | None
    strict: bool


def _act(
    state: CliState,
    cluster: _Cluster,
    action: Callable[[Rollout], RolloutResult],
    question: str | None = None,
    *,
    yes: bool = False,
    audit: str | None = None,
) -> RolloutResult:
    """Every rollout command: confirm `question` (if any), run `action` on the cluster (audited
    when `audit` names what is refused without the trail), render its result."""
    from sphinxctl.cli.infra_view import rollout_view
    from sphinxctl.cli.prompts import confirm

    if question is not None:
        confirm(question, yes=yes, env=state.env, declined="nothing was changed")
    with _rollout(state, cluster, audit=audit) as runner:
        result = action(runner)
    emit(state, result, lambda: rollout_view(result))
    return result


def _outcome_error(result: RolloutResult) -> SphinxError | None:
    """A rollout that rolled back exits 3, one that paused exits with RolloutPaused."""
    from sphinxctl.errors import RolloutPaused, RolloutRolledBack

    details = {"rollout": result.rollout.id if result.rollout else None}
    if result.outcome == "rolled-back":
        return RolloutRolledBack(
            f"canary rolled back: {result.message}",
            hint="the stable serves all traffic again; see `sphinxctl infra rollout status`",
            details=details,
        )
    if result.outcome == "paused":
        return RolloutPaused(result.message, details=details)
    return None
