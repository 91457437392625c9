"""Backup and restore against real SQLite (online backup API) and PostgreSQL (pg_dump and
pg_restore, custom format): identical rows in a fresh database, refusal over data."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sphinxctl.errors import StoreError
from sphinxctl.store import SnapshotLeaf, Store
from tests.support import postgres_server as _postgres_server
from tests.support import store_backends as _store_backends
from tests.support.postgres_server import PostgresServer
from tests.support.store_backends import all_rows

# Fixtures shared with other test modules (one PostgreSQL server per session).
postgres_server = _postgres_server.postgres_server
store = _store_backends.store
store_url = _store_backends.store_url

pytestmark = pytest.mark.integration


def _h(n: int) -> str:
    return "0x" + f"{n:064x}"


def _populate(store: Store) -> None:
    for i in range(4):
        store.append_audit(f"op-{i}", "admin", "pause", "ethereum/SpaceFlightNFT", {"i": i})
    leaves = [
        SnapshotLeaf(
            token_id=t,
            phi_score=300 + t,
            rank=t,
            leaf_hash=_h(100 + t),
            proof=[_h(200 + t), _h(300 + t)],
        )
        for t in range(1, 4)
    ]
    store.save_snapshot("ethereum", _h(1), leaves, created_by="op-1")
    store.record_transaction("ethereum", _h(7), "mint", value_wei=5 * 10**16, actor="op-2")
    store.update_transaction_status("ethereum", _h(7), "confirmed", block_number=12)
    store.record_transaction("polygon", _h(8), "pause")


@pytest.fixture
def fresh(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Store:
    """A second, empty (never migrated) database of the same backend as `store`."""
    if store.backend == "sqlite":
        opened = Store.from_url(f"sqlite:///{tmp_path / 'fresh.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url.rsplit("/", 1)[1]))
        opened = Store.from_url(url)
    request.addfinalizer(opened.close)
    return opened


def test_backup_then_restore_into_a_fresh_database_gives_identical_rows(
    store: Store, fresh: Store, tmp_path: Path
) -> None:
    _populate(store)
    path = tmp_path / "backups" / "sphinx.backup"
    result = store.backup(path)
    assert path.is_file() and result.bytes == path.stat().st_size > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result.tables == {
        "audit_events": 4,
        "rarity_snapshots": 1,
        "rarity_leaves": 3,
        "rarity_nodes": 0,
        "rarity_jobs": 0,
        "transactions": 2,
    }

    restored = fresh.restore(path)
    assert restored.rows_before == 0 and not restored.forced
    assert all_rows(fresh) == all_rows(store)
    assert fresh.verify_audit().ok
    assert fresh.status().up_to_date
    # The restored database keeps working: the chain continues from the restored head.
    assert fresh.append_audit("op-9", "admin", "unpause", "ethereum/X").seq == 5
    assert fresh.verify_audit().ok


def test_restore_over_data_is_refused_without_force(
    store: Store, fresh: Store, tmp_path: Path
) -> None:
    _populate(store)
    path = store.backup(tmp_path / "a.backup").path
    fresh.migrate()
    fresh.append_audit("someone", "admin", "pause", "polygon/X")
    before = all_rows(fresh)
    with pytest.raises(StoreError, match="refusing to restore over a non-empty database") as caught:
        fresh.restore(path)
    assert caught.value.reference == "store-restore-refused"
    assert "--force" in (caught.value.hint or "")
    assert all_rows(fresh) == before

    forced = fresh.restore(path, force=True)
    assert forced.forced and forced.rows_before == 1
    assert all_rows(fresh) == all_rows(store)


def test_restore_into_a_migrated_but_empty_database_needs_no_force(
    store: Store, fresh: Store, tmp_path: Path
) -> None:
    _populate(store)
    path = store.backup(tmp_path / "b.backup").path
    fresh.migrate()
    fresh.restore(path)
    assert all_rows(fresh) == all_rows(store)


def test_restore_refuses_files_that_are_not_a_backup_of_this_backend(
    store: Store, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"not a backup at all")
    with pytest.raises(StoreError, match="not a backup sphinxctl wrote"):
        store.restore(garbage)
    with pytest.raises(StoreError, match="does not exist"):
        store.restore(tmp_path / "missing.backup")
    other = tmp_path / "other.backup"
    other.write_bytes(
        b"PGDMP" if store.backend == "sqlite" else b"SQLite format 3\x00" + b"\0" * 90
    )
    with pytest.raises(StoreError, match=f"this database is {store.backend}"):
        store.restore(other)


def test_backup_of_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    import sqlite3

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with (
        Store.from_url(f"sqlite:///{tmp_path / 'target.db'}") as target,
        pytest.raises(StoreError, match="not a sphinxctl backup"),
    ):
        target.restore(foreign)


def test_postgres_backup_never_puts_the_password_in_the_file_or_errors(
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    url = postgres_server.create_database()
    try:
        with Store.from_url(url) as store:
            store.migrate()
            store.append_audit("a", "admin", "pause", "ethereum/X")
            path = store.backup(tmp_path / "pg.backup").path
            assert postgres_server.password.encode() not in path.read_bytes()
        wrong = url.replace(postgres_server.password, "wrong-password-123")
        with Store.from_url(wrong) as store, pytest.raises(StoreError) as caught:
            store.backup(tmp_path / "other.backup")
        assert "wrong-password-123" not in str(caught.value.message)
        assert "password authentication failed" in caught.value.message
        assert not (tmp_path / "other.backup").exists()
    finally:
        postgres_server.drop_database(url.rsplit("/", 1)[1])
