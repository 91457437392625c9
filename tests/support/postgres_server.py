"""A private PostgreSQL 15 server for tests: initdb in a temp dir, a free TCP port on 127.0.0.1,
its unix socket inside the temp dir, password authentication, stopped in teardown.

Usage (plain Python)::

    from tests.support.postgres_server import PostgresServer

    with PostgresServer() as pg:              # initdb + start (about 1-2 s)
        url = pg.create_database()            # fresh database, SQLAlchemy URL with password
        pg.execute("SELECT 1", dbname=...)    # run SQL as the superuser (autocommit)
        pg.stop(); pg.start()                 # stop / start again on the same port and data
    # leaving the block stops the server and removes its directory

Usage (pytest): import the fixtures into a test module (they share one server per session)::

    from tests.support.postgres_server import postgres_server, postgres_url  # noqa: F401

    def test_something(postgres_url: str) -> None: ...   # a fresh, empty database per test

`postgres_server` (session) is the shared PostgresServer; `postgres_url` (function) is the
`postgresql+psycopg://` URL of a new empty database on it. Tests that stop the server must use
their own `PostgresServer()` instead of the shared one.

The tests run as root and postgres refuses to run as root, so initdb and pg_ctl run as the
`postgres` OS user (`runuser -u postgres --`) with the temp dir chowned to it. Binaries are taken
from /usr/lib/postgresql/<version>/bin (15 preferred), or $SPHINX_PG_BIN when set.
"""

from __future__ import annotations

import atexit
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.support.ports import free_port
from tests.support.real_parts import real_part, require_integration

SUPERUSER = "sphinx"


def find_bin_dir() -> Path:
    """Directory with initdb/pg_ctl: $SPHINX_PG_BIN, else Debian's (version 15 preferred)."""
    override = os.environ.get("SPHINX_PG_BIN")
    if override:
        return Path(override)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: (p.parent.parent.name != "15", -int(p.parent.parent.name.split(".")[0])),
    )
    if not candidates:
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return candidates[0].parent


class PostgresServer:
    """One private PostgreSQL cluster (see the module docstring for the API)."""

    def __init__(self, base_dir: Path | None = None, *, port: int | None = None) -> None:
        self.bin_dir = find_bin_dir()
        self.password = secrets.token_urlsafe(18)
        self.user = SUPERUSER
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._owns_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="sphinx-pg-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir
        self.log_file = self.base_dir / "postgres.log"
        self.running = False
        self._counter = 0
        self._lock = threading.Lock()
        self._as_root = os.geteuid() == 0

    # --- lifecycle -------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=self.base_dir
        )
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}\n{log[-2000:]}"
            )
        return result

    def _init(self) -> None:
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base_dir, pw.pw_uid, pw.pw_gid)
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_root:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> PostgresServer:
        """initdb on first start, then start the server and wait until it accepts connections."""
        require_integration("postgres")
        if self.running:
            return self
        if not (self.data_dir / "PG_VERSION").exists():
            self._init()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "-c shared_buffers=32MB -c max_connections=60",
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are closed); data is kept."""
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop")
        self.running = False

    def destroy(self) -> None:
        """Stop the server and remove its directory."""
        try:
            self.stop()
        finally:
            if self._owns_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    # --- databases -------------------------------------------------------------------------
    def url(self, dbname: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL (with the password) of a database on this server over TCP."""
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={dbname} connect_timeout=5"
        )

    def execute(self, sql: str, params: Any = None, *, dbname: str = "postgres") -> list[Any]:
        """Run one statement as the superuser in autocommit mode; returns the rows (if any)."""
        import psycopg

        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        with self._lock:
            self._counter += 1
            name = name or f"t{os.getpid()}_{self._counter}"
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- pytest fixtures: one shared server per test session -------------------------------------
_shared: PostgresServer | None = None
_users = 0


def acquire_shared() -> PostgresServer:
    """The session's shared server, started on first use (reference counted)."""
    global _shared, _users
    require_integration("postgres")
    if _shared is None:
        _shared = PostgresServer().start()
        atexit.register(_shared.destroy)
    _users += 1
    return _shared


def release_shared() -> None:
    global _shared, _users
    _users -= 1
    if _users <= 0 and _shared is not None:
        _shared.destroy()
        _shared = None


@pytest.fixture(scope="session")
@real_part("postgres")
def postgres_server() -> Iterator[PostgresServer]:
    """The shared private PostgreSQL server (do not stop it: use your own for that)."""
    server = acquire_shared()
    try:
        yield server
    finally:
        release_shared()


@pytest.fixture
@real_part("postgres")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh, empty database on the shared server; dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url.rsplit("/", 1)[1])
