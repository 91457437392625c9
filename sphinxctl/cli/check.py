"""`sphinxctl check ENV`: run the mainnet readiness checklist."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sphinxctl.cli.context import CliState, get_state

if TYPE_CHECKING:
    from sphinxctl.errors import ConfigError
    from sphinxctl.settings import LoadedSettings

# A single command and no callback: typer makes the command itself the `check` entry, so
# `sphinxctl check mainnet` takes ENV directly.
app = typer.Typer(help="Run the mainnet readiness checklist.", add_completion=False)


@app.command(name="check")
def check(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Argument(
            metavar="ENV",
            help="Environment to check (default: the global -e/--env).",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Only these areas (repeatable or comma-separated): contracts, keys, config, "
            "chains, deployment, api, infra, monitoring, backups, incident, launch.",
        ),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file",
            help="Write the report here in the -o format (JSON for table) and print the table.",
        ),
    ] = None,
    allow_manual: Annotated[
        bool, typer.Option("--allow-manual", help="Unattested manual items do not fail the run.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, help="Cap every check's time budget (seconds)."),
    ] = None,
) -> None:
    """Run every automated checklist item concurrently; report pass/fail/warn/manual.

    Exit 0 when all pass; 3 on any failure or unattested manual item (see --allow-manual).
    """
    from sphinxctl.checks import CheckRequest, run_checklist
    from sphinxctl.checks.checklist import resolve_areas
    from sphinxctl.cli.check_view import not_ready, show_report, summary_line

    state = get_state(ctx)
    state.env = env or state.env
    state.require_output("table", "json", "yaml", "junit")
    loaded, error = _settings(state)
    request = CheckRequest(env=state.env, project_root=state.project_root,
                           areas=resolve_areas(only or []), allow_manual=allow_manual,
                           timeout=timeout)  # fmt: skip
    state.err.print(f"checking {state.env} ({', '.join(request.areas)})…", highlight=False)
    report = run_checklist(request, loaded, error)
    show_report(state, report, output_file)
    if not report.ok:
        raise not_ready(report)
    state.err.print(summary_line(report), highlight=False)


def _settings(state: CliState) -> tuple[LoadedSettings | None, ConfigError | None]:
    """The environment's settings, or the ConfigError that is reported as a failing CFG-001
    (not a crash). A missing environment file stays an error: it names what exists."""
    from sphinxctl.errors import ConfigError

    if not (state.config_dir / f"{state.env}.yaml").is_file():
        state.loaded(strict=False)  # raises the loader's ConfigError naming what exists
    try:
        return state.loaded(strict=False), None
    except ConfigError as exc:
        return None, exc
