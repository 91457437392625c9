"""Alembic glue: the migrations ship inside the package (sphinxctl/store/migrations/)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

SCRIPT_LOCATION = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key held while migrating, so replicas starting together take turns.
MIGRATION_LOCK_KEY = 0x5350_4858_4442  # "SPHXDB"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(conn: Connection, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade inside the caller's transaction; returns (revision before, revision after)."""
    _lock(conn)
    before = current_revision(conn)
    command.upgrade(alembic_config(conn), revision)
    return before, current_revision(conn)


def downgrade(conn: Connection, revision: str) -> tuple[str | None, str | None]:
    """Downgrade inside the caller's transaction (`base` removes every table)."""
    _lock(conn)
    before = current_revision(conn)
    command.downgrade(alembic_config(conn), revision)
    return before, current_revision(conn)
