"""What the database holds and whether it is ready: row counts, schema revision, readiness.

Read inside one of the Store's transactions (`conn`); `sphinxctl db status` and /health/ready
show these.
"""

from __future__ import annotations

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Connection

from sphinxctl.store import migrate
from sphinxctl.store.models import Backend, DbStatus, Readiness
from sphinxctl.store.schema import DATA_TABLES, audit_chain_head


def counts(conn: Connection) -> dict[str, int]:
    """Rows per data table (tables that do not exist yet are left out)."""
    existing = set(inspect(conn).get_table_names())
    return {
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in DATA_TABLES
        if name in existing
    }


def status(conn: Connection, backend: Backend, location: str) -> DbStatus:
    """Revision, pending migrations, row counts and the audit chain's head."""
    current = migrate.current_revision(conn)
    tables = counts(conn)
    head_seq = None
    if "audit_events" in tables:
        head_seq = conn.execute(
            select(audit_chain_head.c.seq).where(audit_chain_head.c.id == 1)
        ).scalar_one_or_none()
    head = migrate.head_revision()
    return DbStatus(
        backend=backend,
        location=location,
        reachable=True,
        current_revision=current,
        head_revision=head,
        up_to_date=current == head,
        tables=tables,
        audit_head_seq=head_seq,
    )


def readiness(backend: Backend, latency_ms: float, current: str | None) -> Readiness:
    """Ready when the schema (`current` revision) is at the newest migration."""
    head = migrate.head_revision()
    migrated = current == head
    detail = None
    if not migrated:
        detail = (
            f"database schema is at {current or 'no revision'}, expected {head}: "
            "run `sphinxctl db migrate`"
        )
    return Readiness(
        ok=migrated,
        backend=backend,
        reachable=True,
        migrated=migrated,
        latency_ms=latency_ms,
        detail=detail,
    )
