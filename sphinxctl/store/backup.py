"""Backups: pg_dump / pg_restore (custom format) for PostgreSQL, SQLite's online backup API.

The password goes to pg_dump/pg_restore through PGPASSWORD in their environment, never on the
command line. Backups are written to a temporary file and renamed into place.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine

from sphinxctl.errors import StoreError, StoreUnavailable
from sphinxctl.store.engine import Target

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
TOOL_TIMEOUT_SECONDS = 3600.0


def file_format(path: Path) -> str | None:
    """`sqlite`, `pg_custom`, or None for anything else (or a missing file)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "pg_custom"
    return None


def write_backup(engine: Engine, target: Target, path: Path) -> tuple[int, str]:
    """Back up the whole database to `path`; returns its size and SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if target.backend == "sqlite":
        sqlite_backup(engine, path)
    else:
        pg_backup(target, path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


def check_backup_file(backend: str, path: Path) -> None:
    """Refuse a missing file, or one that is not a backup of this kind of database."""
    if not path.is_file():
        raise StoreError(f"backup file {path} does not exist")
    expected = "sqlite" if backend == "sqlite" else "pg_custom"
    found = file_format(path)
    if found != expected:
        kinds = {"sqlite": "a SQLite backup", "pg_custom": "a pg_dump custom-format archive"}
        raise StoreError(
            f"{path} is {kinds.get(found or '', 'not a backup sphinxctl wrote')}, "
            f"but this database is {backend}",
            hint=f"restore {kinds[expected]} (written by `sphinxctl db backup`) here",
        )


def restore_into(engine: Engine, target: Target, path: Path) -> None:
    """Replace the database's content with the backup's."""
    if target.backend == "sqlite":
        sqlite_restore(engine, path)
    else:
        pg_restore(target, path)
    engine.dispose()  # pooled connections may hold plans for the replaced tables


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


# --- SQLite ----------------------------------------------------------------------------------
def sqlite_backup(engine: Engine, path: Path) -> None:
    """Copy the live database page by page (consistent even while others write)."""
    tmp = _partial(path)
    tmp.unlink(missing_ok=True)
    with engine.connect() as conn:
        source = conn.connection.driver_connection
        assert isinstance(source, sqlite3.Connection)
        dest = sqlite3.connect(tmp)
        try:
            source.backup(dest)
            # A self-contained single file, whatever the live database's journal mode.
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _check_sqlite_backup(path: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = src.execute("PRAGMA integrity_check").fetchone()
            tables = {
                r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a readable SQLite backup: {exc}") from None
    if not ok or ok[0] != "ok":
        raise StoreError(f"{path} failed SQLite's integrity check: {ok[0] if ok else '?'}")
    if not {"alembic_version", "audit_events"} <= tables:
        raise StoreError(f"{path} is a SQLite database but not a sphinxctl backup")


def sqlite_restore(engine: Engine, path: Path) -> None:
    """Replace the live database's content with the backup's (one atomic backup-API copy)."""
    _check_sqlite_backup(path)
    engine.dispose()
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with engine.connect() as conn:
            dest = conn.connection.driver_connection
            assert isinstance(dest, sqlite3.Connection)
            src.backup(dest)
            dest.execute("PRAGMA journal_mode=WAL")
    finally:
        src.close()
    engine.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------
def find_pg_tool(name: str) -> str:
    """pg_dump / pg_restore from PATH, else the newest Debian install."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    if candidates:
        return candidates[-1]
    raise StoreError(
        f"{name} not found",
        hint="Install the PostgreSQL client tools (Debian: apt-get install postgresql-client).",
    )


def _conninfo(target: Target) -> tuple[str, dict[str, str]]:
    """A password-free libpq conninfo string and the environment carrying the password."""
    from psycopg.conninfo import make_conninfo

    url = target.url
    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    params.pop("password", None)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}  # noqa: TID251 — the child inherits the environment; nothing is read
    env.pop("PGPASSWORD", None)
    if target.password:
        env["PGPASSWORD"] = target.password
    return make_conninfo("", **params), env


def _run_tool(args: list[str], env: dict[str, str], target: Target, what: str) -> str:
    try:
        proc = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise StoreError(f"{what} did not finish within {TOOL_TIMEOUT_SECONDS:.0f} s") from None
    except OSError as exc:
        raise StoreError(f"{what} could not run: {exc}") from None
    if proc.returncode != 0:
        message = " ".join(proc.stderr.split())[:500] or f"exit status {proc.returncode}"
        if target.password:
            message = message.replace(target.password, "********")
        lowered = message.lower()
        if "connection to server" in lowered or "could not connect" in lowered:
            raise StoreUnavailable(f"{what} could not reach {target.location}: {message}")
        hint = (
            "Install a pg_dump/pg_restore at least as new as the server."
            if "version mismatch" in lowered
            else None
        )
        raise StoreError(f"{what} failed for {target.location}: {message}", hint=hint)
    return proc.stdout


def pg_backup(target: Target, path: Path) -> None:
    conninfo, env = _conninfo(target)
    tmp = _partial(path)
    tmp.unlink(missing_ok=True)
    args = [
        find_pg_tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={tmp}",
        f"--dbname={conninfo}",
    ]
    try:
        _run_tool(args, env, target, "pg_dump")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def pg_restore(target: Target, path: Path) -> None:
    """Restore a custom-format dump: objects in the dump are dropped and recreated, in one
    transaction (a failure leaves the database as it was)."""
    tool = find_pg_tool("pg_restore")
    listing = _run_tool([tool, "--list", str(path)], dict(os.environ), target, "pg_restore --list")  # noqa: TID251 — the child inherits the environment; nothing is read
    if " TABLE " not in listing or "audit_events" not in listing:
        raise StoreError(f"{path} is a PostgreSQL dump but not a sphinxctl backup")
    conninfo, env = _conninfo(target)
    args = [
        tool,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={conninfo}",
        str(path),
    ]
    _run_tool(args, env, target, "pg_restore")
