"""Store fixtures parametrised over both backends: a SQLite file and the private PostgreSQL.

Import into a test module together with the server fixture::

    from tests.support.postgres_server import postgres_server  # noqa: F401
    from tests.support.store_backends import store, store_url  # noqa: F401

`store_url` is a fresh empty database (not migrated) for each test, once per backend;
`store` is a migrated Store on it. `tamper(store, sql)` runs SQL with the audit trail's
append-only triggers bypassed, as someone with direct database access could.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sphinxctl.store import Store

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.from_url(store_url) as opened:
        opened.migrate()
        yield opened


def tamper(store: Store, *statements: str, params: dict[str, Any] | None = None) -> None:
    """Execute statements directly, bypassing the append-only triggers."""
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if store.backend == "postgresql":
            with raw.cursor() as cur:
                cur.execute("SET session_replication_role = replica")
                for sql in statements:
                    cur.execute(sql, params)
                cur.execute("SET session_replication_role = origin")
            raw.commit()
        else:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
            raw.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
            for sql in statements:
                raw.execute(sql.replace("%(", ":").replace(")s", ""), params or {})
            raw.execute("COMMIT")
    store.engine.dispose()


def all_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the store owns (plus the migration version), sorted."""
    from sqlalchemy import text

    tables = (
        "alembic_version",
        "audit_chain_head",
        "audit_events",
        "rarity_snapshots",
        "rarity_leaves",
        "transactions",
    )
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as conn:
        for name in tables:
            rows = conn.execute(text(f"SELECT * FROM {name}")).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out
