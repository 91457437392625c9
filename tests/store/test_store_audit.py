"""The hash-chained audit trail against real SQLite and PostgreSQL: concurrent writers from two
OS processes, tamper detection naming the edited row, append-only triggers, redaction."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from sphinxctl.errors import StoreError
from sphinxctl.store import Store
from tests.support import postgres_server as _postgres_server
from tests.support import store_backends as _store_backends
from tests.support.store_backends import tamper

# Fixtures shared with other test modules (one PostgreSQL server per session).
postgres_server = _postgres_server.postgres_server
store = _store_backends.store
store_url = _store_backends.store_url

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _fill(store: Store, n: int = 5) -> None:
    for i in range(1, n + 1):
        store.append_audit(
            f"user-{i % 2}",
            "admin",
            "pause",
            f"ethereum/Contract{i}",
            {"i": i, "note": "x" * i},
            "ok",
        )


def test_appended_events_form_a_chain_and_list_filters(store: Store) -> None:
    before = datetime.now(UTC)
    _fill(store, 5)
    events = store.list_audit(limit=100)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert events[2].params == {"i": 3, "note": "xxx"}
    assert all(e.occurred_at >= before - timedelta(seconds=1) for e in events)
    assert [e.seq for e in store.list_audit(limit=2)] == [4, 5]
    assert [e.seq for e in store.list_audit(actor="user-0")] == [2, 4]
    assert [e.seq for e in store.list_audit(after_seq=2, limit=2)] == [3, 4]
    assert store.list_audit(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert store.list_audit(action="unpause") == []
    result = store.verify_audit()
    assert result.ok and result.checked == 5 and result.head_seq == 5
    assert result.head_hash == events[-1].hash


def test_secrets_in_params_never_reach_the_database(store: Store) -> None:
    event = store.append_audit(
        "admin@ops",
        "admin",
        "auth.issue",
        "api",
        {
            "sub": "alice",
            "private_key": "0xdeadbeef",
            "nested": {"jwtSecret": "s3cr3t-value"},
            "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig",
            "token_id": 7,
            "list": [{"password": "hunter2"}],
        },
    )
    assert event.params["token_id"] == 7
    assert event.params["private_key"] == "********"
    with store.engine.connect() as conn:
        raw = conn.execute(text("SELECT params FROM audit_events")).scalar_one()
    for secret in ("0xdeadbeef", "s3cr3t-value", "hunter2", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in raw
    assert '"sub":"alice"' in raw


def test_invalid_events_are_refused_without_breaking_the_chain(store: Store) -> None:
    _fill(store, 2)
    with pytest.raises(StoreError, match="actor must be a non-empty"):
        store.append_audit("", "admin", "pause", "x")
    with pytest.raises(StoreError, match="params must be a mapping"):
        store.append_audit("a", "admin", "pause", "x", ["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="longer than"):
        store.append_audit("a", "admin", "pause", "x" * 301)
    assert store.append_audit("a", "admin", "pause", "x").seq == 3
    assert store.verify_audit().ok


def test_two_processes_writing_concurrently_leave_one_unbroken_chain(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    count = 40
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.audit_writer",
                store_url,
                str(count),
                str(go),
                name,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("writer-a", "writer-b")
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(go.with_name(f"go.{n}.ready").exists() for n in ("writer-a", "writer-b")):
            assert all(p.poll() is None for p in procs), "a writer died before starting"
            assert time.monotonic() < deadline, "writers never became ready"
            time.sleep(0.01)
        go.touch()  # both are connected: release them together
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    events = store.list_audit(limit=10_000)
    assert [e.seq for e in events] == list(range(1, 2 * count + 1))
    for name in ("writer-a", "writer-b"):
        mine = [e.params["i"] for e in events if e.actor == name]
        assert mine == list(range(count))  # each writer's events in its own order
    result = store.verify_audit()
    assert result.ok, result.broken
    assert result.checked == 2 * count


def test_audit_rows_refuse_update_and_delete(store: Store) -> None:
    _fill(store, 2)
    for sql in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert store.verify_audit().ok


TAMPERING = [
    ("actor", "'mallory'", 1),
    ("role", "'admin2'", 2),
    ("action", "'unpause'", 3),
    ("target", "'polygon/Other'", 4),
    ("params", "'{\"i\":99}'", 5),
    ("result", "'failed'", 2),
    ("prev_hash", "'" + "1" * 64 + "'", 3),
    ("hash", "'" + "2" * 64 + "'", 4),
]


@pytest.mark.parametrize(("column", "value", "seq"), TAMPERING)
def test_editing_a_row_makes_verify_name_that_row(
    store: Store, column: str, value: str, seq: int
) -> None:
    _fill(store, 5)
    tamper(store, f"UPDATE audit_events SET {column} = {value} WHERE seq = {seq}")
    result = store.verify_audit()
    assert not result.ok
    assert result.broken is not None and result.broken.seq == seq
    assert f"seq={seq}" in result.broken.reason


def test_editing_a_timestamp_by_one_microsecond_is_detected(store: Store) -> None:
    _fill(store, 3)
    event = store.list_audit()[1]
    later = event.occurred_at + timedelta(microseconds=1)
    value = later if store.backend == "postgresql" else later.strftime("%Y-%m-%d %H:%M:%S.%f")
    tamper(store, "UPDATE audit_events SET occurred_at = %(t)s WHERE seq = 2", params={"t": value})
    broken = store.verify_audit().broken
    assert broken is not None and broken.seq == 2 and "altered" in broken.reason


def test_deleting_rows_is_detected(store: Store) -> None:
    _fill(store, 5)
    tamper(store, "DELETE FROM audit_events WHERE seq = 3")
    broken = store.verify_audit().broken
    assert broken is not None and broken.seq == 3 and "missing" in broken.reason


def test_deleting_the_newest_row_is_detected_through_the_chain_head(store: Store) -> None:
    _fill(store, 5)
    tamper(store, "DELETE FROM audit_events WHERE seq = 5")
    broken = store.verify_audit().broken
    assert broken is not None and broken.seq == 5 and "missing" in broken.reason


def test_a_rehashed_edit_breaks_the_link_of_the_next_row(store: Store) -> None:
    """An attacker who recomputes the edited row's hash still breaks the following link."""
    from sphinxctl.store.canonical import row_hash

    _fill(store, 4)
    row = store.list_audit()[1]
    forged = row_hash(
        seq=2,
        occurred_at=row.occurred_at,
        actor="mallory",
        role=row.role,
        action=row.action,
        target=row.target,
        params_json='{"i":2,"note":"xx"}',
        result=row.result,
        prev_hash=row.prev_hash,
    )
    tamper(store, f"UPDATE audit_events SET actor = 'mallory', hash = '{forged}' WHERE seq = 2")
    broken = store.verify_audit().broken
    assert broken is not None and broken.seq == 3 and "does not link" in broken.reason


def test_a_row_inserted_outside_the_store_is_detected(store: Store) -> None:
    _fill(store, 2)
    last = store.list_audit()[-1]
    tamper(
        store,
        "INSERT INTO audit_events (seq, occurred_at, actor, role, action, target, params, "
        f"result, prev_hash, hash) VALUES (3, '2026-01-01 00:00:00', 'm', 'admin', 'mint', 't', "
        f"'{{}}', 'ok', '{last.hash}', '{'3' * 64}')",
    )
    broken = store.verify_audit().broken
    assert broken is not None and broken.seq == 3 and "beyond the chain head" in broken.reason
