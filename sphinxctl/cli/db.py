"""`sphinxctl db`: migrate, status, backup and restore the database (PostgreSQL or SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
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


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the schema to the newest migration (safe to run again)."""
    from sphinxctl.cli.db_view import migration_view

    state = get_state(ctx)
    with open_store(state) as store:
        result = store.migrate()
    emit(state, result, table=lambda: migration_view(result))


@app.command()
def status(ctx: typer.Context) -> None:
    """Connection, schema revision and row counts."""
    from sphinxctl.cli.db_view import status_view

    state = get_state(ctx)
    with open_store(state) as store:
        result = store.status()
    emit(state, result, table=lambda: status_view(result))


@app.command()
def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the backup (overwritten).")],
) -> None:
    """Back up the whole database: pg_dump custom format, or SQLite's online backup."""
    from sphinxctl.cli.db_view import backup_view

    state = get_state(ctx)
    with open_store(state) as store:
        state.err.print(f"backing up {store.location} ...")
        result = store.backup(file)
    emit(state, result, table=lambda: backup_view(result))


@app.command()
def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup written by `sphinxctl db backup`.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the contents of a database that already holds data."),
    ] = False,
) -> None:
    """Restore a backup into the database; refused over existing data without --force."""
    from sphinxctl.cli.db_view import restore_view

    state = get_state(ctx)
    with open_store(state) as store:
        state.err.print(f"restoring {file} into {store.location} ...")
        result = store.restore(file, force=force)
    emit(state, result, table=lambda: restore_view(result))
