"""Database down: every operation raises StoreUnavailable with a clear, password-free message;
readiness names the database; once it is back nothing is lost and the chain continues."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sphinxctl import metrics
from sphinxctl.errors import StoreUnavailable
from sphinxctl.store import SnapshotLeaf, Store, audited
from tests.support import postgres_server as _postgres_server
from tests.support import store_backends as _store_backends
from tests.support.postgres_server import PostgresServer, free_port

# Fixtures shared with other test modules (one PostgreSQL server per session).
postgres_server = _postgres_server.postgres_server
store_url = _store_backends.store_url

pytestmark = pytest.mark.integration

H = "0x" + "ab" * 32
LEAF = SnapshotLeaf(token_id=1, phi_score=500, rank=1, leaf_hash=H, proof=[])

OPERATIONS: dict[str, Callable[[Store], Any]] = {
    "ping": lambda s: s.ping(),
    "status": lambda s: s.status(),
    "append_audit": lambda s: s.append_audit("ops", "admin", "pause", "ethereum/X"),
    "list_audit": lambda s: s.list_audit(),
    "verify_audit": lambda s: s.verify_audit(),
    "save_snapshot": lambda s: s.save_snapshot("ethereum", H, [LEAF]),
    "get_snapshot": lambda s: s.get_snapshot("ethereum"),
    "record_transaction": lambda s: s.record_transaction("ethereum", H, "mint"),
    "transaction_stats": lambda s: s.transaction_stats(),
    "migrate": lambda s: s.migrate(),
}


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server of this module's own: the tests stop and start it."""
    with PostgresServer() as server:
        yield server


def test_postgres_going_down_and_coming_back(own_server: PostgresServer, tmp_path: Path) -> None:
    url = own_server.create_database()
    with Store.from_url(url, pool_timeout_seconds=2) as store:
        store.migrate()
        store.append_audit("ops", "admin", "pause", "ethereum/X", {"step": 1})
        own_server.stop()
        try:
            for name, operation in OPERATIONS.items():
                with pytest.raises(StoreUnavailable) as caught:
                    operation(store)
                message = caught.value.message
                assert caught.value.unavailable, name
                assert message.startswith("database unavailable"), (name, message)
                assert f"127.0.0.1:{own_server.port}" in message and "refused" in message
                assert own_server.password not in message
            with pytest.raises(StoreUnavailable):
                store.backup(tmp_path / "down.backup")
            ready = store.readiness()
            assert not ready.ok and not ready.reachable
            assert ready.detail is not None and "database unavailable" in ready.detail
        finally:
            own_server.start()
        # Back: pooled connections were dropped with the server; pre-ping replaces them.
        assert store.readiness().ok
        assert store.append_audit("ops", "admin", "unpause", "ethereum/X").seq == 2
        events = store.list_audit()
        assert [e.action for e in events] == ["pause", "unpause"]  # the failed append left nothing
        assert store.verify_audit().ok


def test_postgres_nobody_listening(tmp_path: Path) -> None:
    port = free_port()
    with Store.from_url(f"postgresql://u:pw-secret-1@127.0.0.1:{port}/db") as store:
        with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}") as caught:
            store.ping()
        assert "pw-secret-1" not in caught.value.message
        assert store.readiness().reachable is False


def test_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with Store.from_url(f"sqlite:///{blocker / 'db.sqlite'}") as store:
        for operation in OPERATIONS.values():
            with pytest.raises(StoreUnavailable, match="unable to open database file"):
                operation(store)
        ready = store.readiness()
        assert not ready.ok and "unable to open" in (ready.detail or "")


def test_sqlite_locked_by_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with Store.from_url(
        f"sqlite:///{path}", pool_timeout_seconds=0.2, sqlite_busy_timeout_seconds=0.2
    ) as store:
        store.migrate()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailable, match="database is locked"):
                store.append_audit("ops", "admin", "pause", "ethereum/X")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.append_audit("ops", "admin", "pause", "ethereum/X").seq == 1


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another writer holding a fresh (rollback-journal) file's RESERVED lock, as a replica
    does while it switches the file to WAL."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE IF NOT EXISTS t (x)")
    other.execute("BEGIN IMMEDIATE")
    return other


def test_fresh_sqlite_file_waits_for_the_wal_switch_within_the_busy_timeout(
    tmp_path: Path,
) -> None:
    """Switching a new file to WAL while another connection holds its write lock is refused at
    once, without SQLite's busy handler; replicas opening the file together must wait, not fail."""
    path = tmp_path / "fresh.db"
    other = _hold_write_lock(path)
    release = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
    release.start()
    try:
        with Store.from_url(f"sqlite:///{path}", sqlite_busy_timeout_seconds=10) as store:
            assert store.migrate().applied
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        release.join()
        other.close()


def test_fresh_sqlite_file_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    other = _hold_write_lock(path)
    try:
        with Store.from_url(f"sqlite:///{path}", sqlite_busy_timeout_seconds=0.3) as store:
            with pytest.raises(StoreUnavailable, match="database is locked"):
                store.migrate()
            assert not store.readiness().ok
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_pool_exhausted_is_unavailable_and_counted(store_url: str) -> None:
    with Store.from_url(store_url, pool_size=1, max_overflow=0, pool_timeout_seconds=0.2) as store:
        store.migrate()
        before = metrics.REGISTRY.get_sample_value("sphinxos_db_pool_timeouts_total") or 0.0
        with store.engine.connect():
            assert metrics.REGISTRY.get_sample_value("sphinxos_db_pool_checked_out") == 1
            with pytest.raises(StoreUnavailable, match="pool exhausted") as caught:
                store.ping()
            assert caught.value.reference == "store-pool-exhausted"
        assert metrics.REGISTRY.get_sample_value("sphinxos_db_pool_timeouts_total") == before + 1
        assert metrics.REGISTRY.get_sample_value("sphinxos_db_pool_checked_out") == 0
        assert metrics.REGISTRY.get_sample_value("sphinxos_db_pool_size") == 1
        store.ping()


def test_query_durations_are_observed_by_operation(store_url: str) -> None:
    def count(operation: str) -> float:
        value = metrics.REGISTRY.get_sample_value(
            "sphinxos_db_query_duration_seconds_count", {"operation": operation}
        )
        return value or 0.0

    with Store.from_url(store_url) as store:
        store.migrate()
        inserts, selects = count("insert"), count("select")
        store.append_audit("ops", "admin", "pause", "ethereum/X")
        store.list_audit()
        assert count("insert") == inserts + 1
        assert count("select") >= selects + 2


def test_audited_action_never_runs_unrecorded(own_server: PostgresServer) -> None:
    url = own_server.create_database()
    ran: list[str] = []
    with Store.from_url(url, pool_timeout_seconds=2) as store:
        store.migrate()
        own_server.stop()
        try:
            with (
                pytest.raises(StoreUnavailable),
                audited(store, "ops", "admin", "pause", "ethereum/X", retry_delays=()),
            ):
                ran.append("while down")  # must never run
        finally:
            own_server.start()
        assert ran == [] and store.list_audit() == []

        # The database goes away during the action: it stays recorded as started.
        with audited(store, "ops", "admin", "unpause", "ethereum/X", retry_delays=()) as outcome:
            ran.append("performed")
            own_server.stop()
        own_server.start()
        assert ran == ["performed"] and not outcome.recorded
        events = store.list_audit()
        assert [(e.action, e.result) for e in events] == [("unpause", "started")]
        assert store.verify_audit().ok
