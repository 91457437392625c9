"""Rendering for `sphinxctl db`: one key/value table per result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from sphinxctl.store.models import BackupResult, DbStatus, MigrationResult, RestoreResult


def _kv(rows: Iterable[tuple[str, object]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, "-" if value is None else str(value))
    return table


def _row_counts(tables: dict[str, int]) -> list[tuple[str, object]]:
    return [(f"rows: {name}", count) for name, count in tables.items()]


def migration_view(result: MigrationResult) -> Table:
    summary = (
        f"migrated {result.from_revision or 'empty database'} -> {result.to_revision}"
        if result.applied
        else f"already at {result.to_revision}"
    )
    return _kv([("database", result.location), ("schema", summary)])


def status_view(result: DbStatus) -> Table:
    return _kv(
        [
            ("database", result.location),
            ("backend", result.backend),
            ("revision", result.current_revision or "none (run `sphinxctl db migrate`)"),
            ("head", result.head_revision),
            ("up to date", "yes" if result.up_to_date else "no"),
            ("audit head", result.audit_head_seq),
            *_row_counts(result.tables),
        ]
    )


def backup_view(result: BackupResult) -> Table:
    return _kv(
        [
            ("backup", result.path),
            ("bytes", result.bytes),
            ("sha256", result.sha256),
            *_row_counts(result.tables),
        ]
    )


def restore_view(result: RestoreResult) -> Table:
    return _kv(
        [
            ("restored", result.path),
            ("rows replaced", result.rows_before),
            *_row_counts(result.tables),
        ]
    )
