"""`sphinxctl check ENV`: run the mainnet readiness checklist."""

from __future__ import annotations

from pathlib import Path

import typer

from sphinxctl.cli.context import get_state

# A single command and no callback: typer makes the command itself the `check` entry, so
# `sphinxctl check mainnet` takes ENV directly.
app = typer.Typer(help="Run the mainnet readiness checklist.", add_completion=False)


@app.command(name="check")
def check(
    ctx: typer.Context,
    env: str | None = typer.Argument(
        None,
        metavar="ENV",
        help="Environment to check (default: the global -e/--env).",
        show_default=False,
    ),
    only: list[str] = typer.Option(
        [],
        "--only",
        help="Only these areas (repeatable or comma-separated): contracts, keys, config, "
        "chains, deployment, api, infra, monitoring, backups, incident, launch.",
    ),
    output_file: Path | None = typer.Option(
        None,
        "--output-file",
        help="Write the report here in the -o format (JSON for table) and print the table.",
    ),
    allow_manual: bool = typer.Option(
        False, "--allow-manual", help="Unattested manual items do not fail the run."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", min=0.1, help="Cap every check's time budget (seconds)."
    ),
) -> None:
    """Run every automated checklist item concurrently; report pass/fail/warn/manual.

    Exit 0 when all pass; 3 on any failure or unattested manual item (see --allow-manual).
    """
    from sphinxctl.checks import CheckRequest, run_checklist
    from sphinxctl.checks.checklist import resolve_areas
    from sphinxctl.cli.check_view import junit, not_ready, summary_line, table
    from sphinxctl.cli.render import dump, emit
    from sphinxctl.errors import ConfigError

    state = get_state(ctx)
    state.env = env or state.env
    state.require_output("table", "json", "yaml", "junit")
    if not (state.config_dir / f"{state.env}.yaml").is_file():
        state.loaded(strict=False)  # raises the loader's ConfigError naming what exists
    request = CheckRequest(env=state.env, project_root=state.project_root,
                           areas=resolve_areas(only), allow_manual=allow_manual,
                           timeout=timeout)  # fmt: skip
    try:
        loaded, error = state.loaded(strict=False), None
    except ConfigError as exc:  # reported as a failing CFG-001, not a crash
        loaded, error = None, exc
    state.err.print(f"checking {state.env} ({', '.join(request.areas)})…", highlight=False)
    report = run_checklist(request, loaded, error)
    if output_file is not None:
        fmt = "json" if state.output == "table" else state.output
        text = junit(report) if fmt == "junit" else dump(report, fmt)
        output_file.write_text(text, encoding="utf-8")
        state.out.print(table(report))
    elif state.output == "junit":
        typer.echo(junit(report), nl=False)
    else:
        emit(state, report, lambda: table(report))
    if not report.ok:
        raise not_ready(report)
    state.err.print(summary_line(report), highlight=False)
