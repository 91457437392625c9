"""The SQLAlchemy engine: which database, pool sizing, SQLite locking, pool and query metrics."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

from sphinxctl.errors import ConfigError
from sphinxctl.settings.paths import project_path
from sphinxctl.store.models import Backend

if TYPE_CHECKING:
    from sphinxctl.settings.sections import DatabaseSettings

# Statements are labelled by their first keyword only (bounded label values).
_OPERATIONS = frozenset({"select", "insert", "update", "delete", "begin", "commit", "rollback"})
# Execution option asking SQLite for a read (deferred) transaction instead of BEGIN IMMEDIATE.
READ_ONLY = "sphinx_read_only"


@dataclass(frozen=True)
class Target:
    """Where the store's data lives: the URL to connect with and a password-free description."""

    backend: Backend
    url: URL
    location: str
    sqlite_path: Path | None = None

    @property
    def password(self) -> str | None:
        return self.url.password if isinstance(self.url.password, str) else None


def resolve_target(db: DatabaseSettings, project_root: Path) -> Target:
    """PostgreSQL (psycopg 3) when `database.url` is set, else the SQLite file under the root."""
    if db.url is not None:
        raw = db.url.get_secret_value().strip()
        try:
            url = make_url(raw)
        except Exception:  # noqa: BLE001 — SQLAlchemy raises assorted types; the URL is secret
            raise ConfigError(
                "database.url is not a valid database URL",
                hint="use postgresql://user:password@host:5432/dbname (DATABASE_URL)",
            ) from None
        driver = url.drivername
        if driver in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg3"):
            url = url.set(drivername="postgresql+psycopg")
            return Target("postgresql", url, url.render_as_string(hide_password=True))
        if driver.startswith("sqlite"):
            path = project_path(project_root, url.database or "")
            return Target("sqlite", url.set(database=str(path)), f"sqlite:///{path}", path)
        raise ConfigError(
            f"database.url uses an unsupported driver {driver!r}",
            hint="sphinxctl supports PostgreSQL (postgresql://...) and SQLite (sqlite:///...)",
        )
    path = project_path(project_root, db.sqlite_path)
    url = URL.create("sqlite+pysqlite", database=str(path))
    return Target("sqlite", url, f"sqlite:///{path}", path)


def build_engine(target: Target, db: DatabaseSettings) -> Engine:
    """An engine with the configured pool, pre-ping, SQLite write locking and metrics."""
    common: dict[str, Any] = {
        "poolclass": QueuePool,
        "pool_size": db.pool_size,
        "max_overflow": db.max_overflow,
        "pool_timeout": db.pool_timeout_seconds,
        "pool_pre_ping": True,
        "hide_parameters": True,
    }
    if target.backend == "postgresql":
        connect_args = {
            "connect_timeout": max(1, round(db.pool_timeout_seconds)),
            "application_name": "sphinxctl",
        }
        engine = create_engine(target.url, connect_args=connect_args, **common)
    else:
        assert target.sqlite_path is not None
        # On failure, connecting reports it (StoreUnavailable), so readiness names the cause.
        with contextlib.suppress(OSError):
            target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            target.url,
            connect_args={"timeout": db.sqlite_busy_timeout_seconds, "check_same_thread": False},
            **common,
        )
        _sqlite_locking(engine, db.sqlite_busy_timeout_seconds)
    _pool_metrics(engine, db.pool_size)
    _query_metrics(engine)
    return engine


def _sqlite_locking(engine: Engine, busy_timeout: float) -> None:
    """WAL journal, foreign keys on, and BEGIN IMMEDIATE for every writing transaction.

    BEGIN IMMEDIATE takes SQLite's write lock at the start, so two processes appending audit
    events serialize instead of both reading the same chain head.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        _enable_wal(dbapi_conn, busy_timeout)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _enable_wal(dbapi_conn: Any, busy_timeout: float) -> None:
    """Switch a new database file to WAL, waiting like any other writer would.

    While another connection holds the file's write lock, changing the journal mode is refused
    with "database is locked" at once, without SQLite's busy handler, so replicas opening a
    fresh file together would fail. Retry within the busy timeout; once the file is WAL (it
    stays so) nothing waits.
    """
    deadline = time.monotonic() + busy_timeout
    delay = 0.002
    while True:
        try:
            mode = dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                dbapi_conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _pool_metrics(engine: Engine, size: int) -> None:
    """Pool gauges read the pool at scrape time (the latest engine built in the process)."""
    from sphinxctl import metrics

    metrics.DB_POOL_SIZE.set(size)
    engine_ref = weakref.ref(engine)  # dispose() replaces engine.pool: read it at scrape time

    def _pool() -> QueuePool | None:
        current = engine_ref()
        pool = current.pool if current is not None else None
        return pool if isinstance(pool, QueuePool) else None

    def checked_out() -> float:
        pool = _pool()
        return float(pool.checkedout()) if pool is not None else 0.0

    def overflow() -> float:
        pool = _pool()
        return float(max(0, pool.overflow())) if pool is not None else 0.0

    metrics.DB_POOL_CHECKED_OUT.set_function(checked_out)
    metrics.DB_POOL_OVERFLOW.set_function(overflow)


def _query_metrics(engine: Engine) -> None:
    from sphinxctl import metrics

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        conn: Any, _cursor: Any, _stmt: str, _params: Any, context: Any, _many: bool
    ) -> None:
        conn.info.setdefault("sphinx_query_start", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(
        conn: Any, _cursor: Any, stmt: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        starts = conn.info.get("sphinx_query_start")
        if not starts:
            return
        elapsed = time.perf_counter() - starts.pop()
        metrics.DB_QUERY_DURATION.labels(operation=operation_of(stmt)).observe(elapsed)

    @event.listens_for(engine, "handle_error")
    def _error(context: Any) -> None:
        conn = context.connection
        if conn is not None and conn.info.get("sphinx_query_start"):
            conn.info["sphinx_query_start"].pop()


def operation_of(statement: str) -> str:
    """The metric label of a statement: its first keyword if a common one, else `other`."""
    word = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else ""
    return word if word in _OPERATIONS else "other"
