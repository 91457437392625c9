"""`sphinxctl infra`: render, lint, diff, apply, inspect, roll back and tear down the
Kubernetes stack. The kubernetes library is imported only when a command runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.infra_rollout import app as rollout_app
from sphinxctl.cli.options import NoPrompt
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from sphinxctl.infra.context import StackContext

app = typer.Typer(help="Create and manage the Kubernetes stack.", no_args_is_help=True)
app.add_typer(rollout_app, name="rollout")

Kubeconfig = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="Kubeconfig file (default: settings, then $KUBECONFIG or ~/.kube/config).",
    ),
]
KubeContext = Annotated[
    str | None,
    typer.Option(
        "--context",
        help="Kubeconfig context (default: settings, then the file's current context).",
    ),
]
ManifestsDir = Annotated[
    Path | None, typer.Option("--manifests-dir", help="Template directory (default: manifests/).")
]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds --wait may take.")]
Wait = Annotated[
    bool, typer.Option("--wait", help="Wait until workloads are ready and claims bound.")
]
Recreate = Annotated[
    bool,
    typer.Option(
        "--recreate",
        help="Delete and re-create objects whose change touches an immutable field.",
    ),
]


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
    from sphinxctl.cli.infra_view import StackProgress
    from sphinxctl.infra.context import open_stack

    progress = StackProgress(state.err)
    settings = state.settings(strict=strict)
    configured = settings.kubernetes.kubeconfig
    if kubeconfig is None and configured is not None and not configured.expanduser().is_absolute():
        kubeconfig = state.project_root / configured  # a path in the file is project-relative
    stack = open_stack(
        settings,
        kubeconfig=kubeconfig,
        context=context,
        sources=_sources(state, manifests_dir),
        on_event=progress,
    )
    try:
        with stack:
            yield stack
    finally:
        progress.stop()


@app.command()
def render(
    ctx: typer.Context,
    lint: Annotated[
        bool, typer.Option("--lint", help="Also run the readiness lints (exit 3 on errors).")
    ] = False,
    manifests_dir: ManifestsDir = None,
) -> None:
    """Print the stack as YAML (Secret values redacted); needs no cluster and no secrets."""
    from sphinxctl.cli.infra_view import lint_outcome
    from sphinxctl.infra.render import render as render_stack
    from sphinxctl.infra.render import to_yaml

    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    result = render_stack(state.settings(strict=False), _sources(state, manifests_dir), lint=lint)
    if state.output == "json":
        emit(state, result)
    else:
        state.write(to_yaml(result.objects))
    failure = lint_outcome(state.err, result.findings) if lint else None
    if failure is not None:
        raise failure


@app.command()
def diff(
    ctx: typer.Context,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    manifests_dir: ManifestsDir = None,
) -> None:
    """Server dry-run of the stack against the cluster, as unified diffs (secrets masked)."""
    from sphinxctl.cli.infra_view import diff_view
    from sphinxctl.infra.queries import diff as diff_stack

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=True, manifests_dir=manifests_dir) as stack:
        result = diff_stack(stack)
    emit(state, result, lambda: diff_view(result))


@app.command()
def up(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Server dry run: change nothing.")
    ] = False,
    wait: Wait = False,
    timeout: Timeout = 300.0,
    force_conflicts: Annotated[
        bool,
        typer.Option("--force-conflicts", help="Take over fields another field manager owns."),
    ] = False,
    recreate: Recreate = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    manifests_dir: ManifestsDir = None,
) -> None:
    """Apply the stack (server-side apply, install order), prune what was removed, record a
    revision; with --wait, wait for readiness."""
    from sphinxctl.cli.infra_view import up_view
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
    emit(state, result, lambda: up_view(result))


@app.command()
def status(
    ctx: typer.Context,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
) -> None:
    """Existence and readiness of every object of the deployed revision."""
    from sphinxctl.cli.infra_view import status_view
    from sphinxctl.infra.queries import status as stack_status

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=False) as stack:
        result = stack_status(stack)
    emit(state, result, lambda: status_view(result))


@app.command()
def history(
    ctx: typer.Context,
    show: Annotated[
        int | None, typer.Option("--show", help="Print this revision's objects.")
    ] = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
) -> None:
    """The recorded revisions (values of Secrets are never stored)."""
    from sphinxctl.cli.infra_view import history_view
    from sphinxctl.infra.queries import history as stack_history
    from sphinxctl.infra.render import to_yaml

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=False) as stack:
        result = stack_history(stack, show=show)
    if result.manifest is not None and state.output == "table":
        state.write(to_yaml(result.manifest))
        return
    emit(state, result, lambda: history_view(result))


@app.command()
def rollback(
    ctx: typer.Context,
    to: Annotated[
        int | None,
        typer.Option("--to", help="Revision to return to (default: the one before the current)."),
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 300.0,
    recreate: Recreate = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
) -> None:
    """Re-apply an earlier revision (recorded as a new revision)."""
    from sphinxctl.cli.infra_view import up_view
    from sphinxctl.infra.apply import rollback as rollback_stack

    state = get_state(ctx)
    with _stack(state, kubeconfig, context, strict=True) as stack:
        result = rollback_stack(stack, to=to, wait=wait, timeout=timeout, recreate=recreate)
    emit(state, result, lambda: up_view(result))


@app.command()
def down(
    ctx: typer.Context,
    delete_volumes: Annotated[
        bool,
        typer.Option("--delete-volumes", help="Also delete the PersistentVolumeClaims (the data)."),
    ] = False,
    delete_namespace: Annotated[
        bool,
        typer.Option(
            "--delete-namespace", help="Also delete the namespace (needs --delete-volumes)."
        ),
    ] = False,
    yes: NoPrompt = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
) -> None:
    """Delete the stack in reverse install order; volumes and namespace stay by default."""
    from sphinxctl.cli.infra_view import down_view
    from sphinxctl.cli.prompts import confirm
    from sphinxctl.infra.teardown import down as down_stack

    state = get_state(ctx)
    namespace = state.settings(strict=False).kubernetes.namespace
    volumes = " including its volumes" if delete_volumes else ""
    question = f"Delete the Sphinx stack in namespace {namespace!r}{volumes}?"
    confirm(question, yes=yes, env=state.env, declined="nothing was deleted")
    with _stack(state, kubeconfig, context, strict=False) as stack:
        result = down_stack(stack, delete_volumes=delete_volumes, delete_namespace=delete_namespace)
    emit(state, result, lambda: down_view(result))
