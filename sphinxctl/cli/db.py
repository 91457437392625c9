"""`sphinxctl db`: migrate, status, backup and restore the database (PostgreSQL or SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.store import Store

app = typer.Typer(no_args_is_help=True, help="Migrate, back up and restore the database.")


def open_store(state: CliState) -> Store:
    """The environment's store. Only the `database` section must be fully resolved: an unset
    DATABASE_URL without a default (mainnet) is an error, never a silent fall back to SQLite."""
    from sphinxctl.errors import MissingVariableError
    from sphinxctl.store import Store

    loaded = state.loaded(strict=False)
    missing = [m for m in loaded.missing if m.key_path.split(".")[0] == "database"]
    if missing:
        first = missing[0]
        raise MissingVariableError(
            f"{loaded.path}: {first.key_path} needs environment variable {first.variable}, "
            "which is not set",
            hint=f"export {first.variable}=postgresql://user:password@host:5432/dbname",
        )
    return Store.from_settings(loaded.settings, state.project_root)


def _kv(rows: list[tuple[str, object]]) -> RenderableType:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, "-" if value is None else str(value))
    return table


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the schema to the newest migration (safe to run again)."""
    state = get_state(ctx)
    with open_store(state) as store:
        result = store.migrate()
    summary = (
        f"migrated {result.from_revision or 'empty database'} -> {result.to_revision}"
        if result.applied
        else f"already at {result.to_revision}"
    )
    emit(state, result, table=lambda: _kv([("database", result.location), ("schema", summary)]))


@app.command()
def status(ctx: typer.Context) -> None:
    """Connection, schema revision and row counts."""
    state = get_state(ctx)
    with open_store(state) as store:
        result = store.status()
    rows: list[tuple[str, object]] = [
        ("database", result.location),
        ("backend", result.backend),
        ("revision", result.current_revision or "none (run `sphinxctl db migrate`)"),
        ("head", result.head_revision),
        ("up to date", "yes" if result.up_to_date else "no"),
        ("audit head", result.audit_head_seq),
        *((f"rows: {name}", count) for name, count in result.tables.items()),
    ]
    emit(state, result, table=lambda: _kv(rows))


@app.command()
def backup(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Where to write the backup (overwritten)."),
) -> None:
    """Back up the whole database: pg_dump custom format, or SQLite's online backup."""
    state = get_state(ctx)
    with open_store(state) as store:
        state.err.print(f"backing up {store.location} ...")
        result = store.backup(file)
    emit(
        state,
        result,
        table=lambda: _kv(
            [
                ("backup", result.path),
                ("bytes", result.bytes),
                ("sha256", result.sha256),
                *((f"rows: {name}", count) for name, count in result.tables.items()),
            ]
        ),
    )


@app.command()
def restore(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A backup written by `sphinxctl db backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace the contents of a database that already holds data."
    ),
) -> None:
    """Restore a backup into the database; refused over existing data without --force."""
    state = get_state(ctx)
    with open_store(state) as store:
        state.err.print(f"restoring {file} into {store.location} ...")
        result = store.restore(file, force=force)
    emit(
        state,
        result,
        table=lambda: _kv(
            [
                ("restored", result.path),
                ("rows replaced", result.rows_before),
                *((f"rows: {name}", count) for name, count in result.tables.items()),
            ]
        ),
    )
