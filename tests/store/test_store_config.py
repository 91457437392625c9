"""Where the store connects, statement labels, error classification, backup helpers, --since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import exc as sa_exc

from sphinxctl.cli.audit import parse_since
from sphinxctl.errors import ConfigError, StoreError, StoreUnavailable, UsageError
from sphinxctl.settings.sections import DatabaseSettings
from sphinxctl.store.backup import _conninfo, file_format
from sphinxctl.store.engine import operation_of, resolve_target
from sphinxctl.store.failures import classify


def _target(url: str | None, root: Path = Path("/proj")):
    return resolve_target(DatabaseSettings(url=SecretStr(url) if url else None), root)


def test_sqlite_is_the_default_under_the_project_root() -> None:
    target = _target(None)
    assert target.backend == "sqlite"
    assert target.sqlite_path == Path("/proj/.sphinxctl/sphinx.db")
    assert target.location == "sqlite:////proj/.sphinxctl/sphinx.db"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_postgres_urls_use_psycopg_and_hide_the_password(scheme: str) -> None:
    target = _target(f"{scheme}://app:s3cret@db.internal:5433/sphinx?sslmode=require")
    assert target.backend == "postgresql"
    assert target.url.drivername == "postgresql+psycopg"
    assert target.password == "s3cret"
    assert "s3cret" not in target.location and "db.internal:5433/sphinx" in target.location


def test_sqlite_url_is_relative_to_the_project_root() -> None:
    target = _target("sqlite:///data/x.db")
    assert target.backend == "sqlite" and target.sqlite_path == Path("/proj/data/x.db")


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "not a url at all"])
def test_unsupported_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _target(url)
    assert "p@h" not in caught.value.message


def test_empty_url_from_an_unset_variable_means_sqlite() -> None:
    assert DatabaseSettings(url="").url is None


@pytest.mark.parametrize(
    ("statement", "label"),
    [
        ("SELECT 1", "select"),
        ("  insert into t", "insert"),
        ("UPDATE x", "update"),
        ("BEGIN IMMEDIATE", "begin"),
        ("PRAGMA foreign_keys=ON", "other"),
        ("", "other"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "other"),
    ],
)
def test_statements_are_labelled_by_their_first_keyword(statement: str, label: str) -> None:
    assert operation_of(statement) == label


class _Orig(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(cls: type[sa_exc.DBAPIError], message: str, sqlstate: str | None = None):
    return cls("SELECT 1", None, _Orig(message, sqlstate))


def test_classification_of_driver_errors() -> None:
    down = classify(
        _wrapped(sa_exc.OperationalError, "connection refused for pw123", "08006"),
        "db",
        secret="pw123",
    )
    assert isinstance(down, StoreUnavailable) and "pw123" not in down.message
    locked = classify(_wrapped(sa_exc.OperationalError, "database is locked"), "db")
    assert isinstance(locked, StoreUnavailable)
    missing = classify(
        _wrapped(sa_exc.ProgrammingError, 'relation "x" does not exist', "42P01"), "db"
    )
    assert missing.reference == "store-not-migrated" and not missing.unavailable
    login = classify(
        _wrapped(sa_exc.OperationalError, "password authentication failed", "28P01"), "db"
    )
    assert isinstance(login, StoreUnavailable) and login.reference == "store-login-refused"
    other = classify(_wrapped(sa_exc.IntegrityError, "duplicate key", "23505"), "db")
    assert type(other) is StoreError
    pool = classify(sa_exc.TimeoutError("QueuePool limit"), "db")
    assert isinstance(pool, StoreUnavailable) and pool.reference == "store-pool-exhausted"


def test_file_format_sniffing(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"SQLite format 3\x00rest")
    (tmp_path / "b").write_bytes(b"PGDMP\x01\x0e")
    (tmp_path / "c").write_bytes(b"hello")
    assert file_format(tmp_path / "a") == "sqlite"
    assert file_format(tmp_path / "b") == "pg_custom"
    assert file_format(tmp_path / "c") is None
    assert file_format(tmp_path / "missing") is None


def test_pg_tools_get_the_password_only_through_the_environment() -> None:
    target = _target("postgresql://app:pa ss@db:5433/sphinx?sslmode=require")
    conninfo, env = _conninfo(target)
    assert "pa ss" not in conninfo
    assert "host=db" in conninfo and "port=5433" in conninfo and "sslmode=require" in conninfo
    assert env["PGPASSWORD"] == "pa ss"


def test_parse_since() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("1w", now) == now - timedelta(weeks=1)
    assert parse_since("2026-02-01", now) == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_since("2026-02-01T10:00:00Z", now) == datetime(2026, 2, 1, 10, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("last tuesday", now)
