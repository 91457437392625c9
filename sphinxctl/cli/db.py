"""`sphinxctl db`: migrate, status, backup and restore the database (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.store import Store

R = TypeVar("R")

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


def _run(
    ctx: typer.Context,
    work: Callable[[Store], R],
    view: Callable[[R], RenderableType],
    note: Callable[[Store], str] | None = None,
) -> None:
    """Every db command: open the store, say what starts (`note`), `work`, render its result."""
    state = get_state(ctx)
    with open_store(state) as store:
        if note is not None:
            state.err.print(note(store))
        result = work(store)
    emit(state, result, table=lambda: view(result))


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the schema to the newest migration (safe to run again)."""
    from sphinxctl.cli.db_view import migration_view

    _run(ctx, lambda store: store.migrate(), migration_view)


@app.command()
def status(ctx: typer.Context) -> None:
    """Connection, schema revision and row counts."""
    from sphinxctl.cli.db_view import status_view

    _run(ctx, lambda store: store.status(), status_view)


@app.command()
def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the backup (overwritten).")],
) -> None:
    """Back up the whole database: pg_dump custom format, or SQLite's online backup."""
    from sphinxctl.cli.db_view import backup_view

    _run(
        ctx,
        lambda store: store.backup(file),
        backup_view,
        note=lambda store: f"backing up {store.location} ...",
    )


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

    _run(
        ctx,
        lambda store: store.restore(file, force=force),
        restore_view,
        note=lambda store: f"restoring {file} into {store.location} ...",
    )
