"""Alembic migrations against real SQLite and PostgreSQL: from empty, idempotent, reversible,
safe when several replicas migrate at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import inspect

from sphinxctl.errors import StoreError
from sphinxctl.store import Store
from sphinxctl.store.migrate import head_revision
from tests.support import postgres_server as _postgres_server
from tests.support import store_backends as _store_backends

# Fixtures shared with other test modules (one PostgreSQL server per session).
postgres_server = _postgres_server.postgres_server
store_url = _store_backends.store_url

pytestmark = pytest.mark.integration

TABLES = {
    "alembic_version",
    "audit_events",
    "audit_chain_head",
    "rarity_snapshots",
    "rarity_leaves",
    "rarity_nodes",
    "rarity_jobs",
    "transactions",
}


def _schema(store: Store) -> dict[str, Any]:
    with store.engine.connect() as conn:
        insp = inspect(conn)
        return {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)],
                sorted(str(i["name"]) for i in insp.get_indexes(name)),
                sorted(str(u["name"]) for u in insp.get_unique_constraints(name)),
            )
            for name in sorted(insp.get_table_names())
        }


def test_migrations_apply_from_empty_and_are_idempotent(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        assert store.readiness().migrated is False
        assert _schema(store) == {}

        first = store.migrate()
        assert first.applied and first.from_revision is None
        assert first.to_revision == head_revision()
        schema = _schema(store)
        assert set(schema) == TABLES

        second = store.migrate()
        assert not second.applied and second.from_revision == second.to_revision == head_revision()
        assert _schema(store) == schema

        status = store.status()
        assert status.up_to_date and status.audit_head_seq == 0
        assert status.tables == {
            "audit_events": 0,
            "rarity_snapshots": 0,
            "rarity_leaves": 0,
            "rarity_nodes": 0,
            "rarity_jobs": 0,
            "transactions": 0,
        }
        ready = store.readiness()
        assert ready.ok and ready.migrated and ready.reachable


def test_downgrade_to_base_then_upgrade_again(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        store.migrate()
        store.append_audit("a", "admin", "pause", "ethereum/X")
        down = store.downgrade("base")
        assert down.to_revision is None
        assert set(_schema(store)) == {"alembic_version"}
        assert store.migrate().applied
        assert store.verify_audit().checked == 0


def test_replicas_migrating_at_the_same_time_both_succeed(store_url: str) -> None:
    stores = [Store.from_url(store_url) for _ in range(3)]
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def run(store: Store) -> None:
        try:
            barrier.wait()
            results.append(store.migrate())
        except BaseException as exc:  # noqa: BLE001 — collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert sorted(r.applied for r in results) == [False, False, True]
        assert all(r.to_revision == head_revision() for r in results)
    finally:
        for s in stores:
            s.close()


def test_using_an_unmigrated_database_says_to_migrate(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        with pytest.raises(StoreError) as caught:
            store.append_audit("a", "admin", "pause", "ethereum/X")
        assert caught.value.reference == "store-not-migrated"
        assert not caught.value.unavailable
        assert "sphinxctl db migrate" in (caught.value.hint or "")
        ready = store.readiness()
        assert not ready.ok and ready.reachable and "db migrate" in (ready.detail or "")


def test_table_definitions_match_the_migrations(store_url: str) -> None:
    """What the queries use (schema.py) is what the migrations create (alembic's autogenerate
    comparison finds nothing to add, drop or alter)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from sphinxctl.store.schema import metadata

    with Store.from_url(store_url) as store:
        store.migrate()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
