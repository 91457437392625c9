"""`sphinxctl db` and `sphinxctl audit` through the real command tree, on SQLite (env local's
embedded default) and on PostgreSQL (DATABASE_URL), with exit codes and messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from sphinxctl.store import Store
from sphinxctl.store.migrate import head_revision
from tests.support import postgres_server as _postgres_server
from tests.support.postgres_server import PostgresServer, free_port
from tests.support.store_backends import all_rows, tamper

# Fixtures shared with other test modules (one PostgreSQL server per session).
postgres_server = _postgres_server.postgres_server

pytestmark = pytest.mark.integration


class Cli:
    """Runs sphinxctl against one config dir and one database."""

    def __init__(self, config_dir: Path, database_url: str | None, secret: str | None) -> None:
        self.config_dir = config_dir
        self.env = {"DATABASE_URL": database_url or ""}
        self.secret = secret

    def __call__(self, *args: str, env: str = "local") -> tuple[int, str, str]:
        result = CliRunner().invoke(
            app, ["--config-dir", str(self.config_dir), "-e", env, *args], env=self.env
        )
        if self.secret:
            assert self.secret not in result.stdout + result.stderr
        return result.exit_code, result.stdout, result.stderr

    def store(self) -> Store:
        url = self.env["DATABASE_URL"]
        if url:
            return Store.from_url(url)
        return Store.from_url(f"sqlite:///{self.config_dir.parent / '.sphinxctl' / 'local.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(
    request: pytest.FixtureRequest, config_dir: Path, clean_env: pytest.MonkeyPatch
) -> Iterator[Cli]:
    if request.param == "sqlite":
        yield Cli(config_dir, None, None)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database().replace("postgresql+psycopg://", "postgresql://")
    try:
        yield Cli(config_dir, url, server.password)
    finally:
        server.drop_database(url.rsplit("/", 1)[1])


def test_migrate_is_idempotent_and_status_reports_it(cli: Cli) -> None:
    code, out, _ = cli("db", "status", "-o", "json")
    assert code == 0 and json.loads(out)["up_to_date"] is False
    code, out, _ = cli("db", "migrate")
    head = head_revision()
    assert code == 0 and f"migrated empty database -> {head}" in out
    code, out, _ = cli("db", "migrate")
    assert code == 0 and f"already at {head}" in out
    code, out, _ = cli("db", "status", "-o", "json")
    status = json.loads(out)
    assert code == 0 and status["up_to_date"] and status["tables"]["audit_events"] == 0
    code, out, _ = cli("db", "status")
    assert code == 0 and re.search(r"up to date +yes", out)


def test_audit_list_and_verify(cli: Cli) -> None:
    assert cli("db", "migrate")[0] == 0
    with cli.store() as store:
        for actor in ("alice", "bob", "alice"):
            store.append_audit(
                actor, "admin", "pause", "ethereum/SpaceFlightNFT", {"api_token": "should-not-show"}
            )
    code, out, _ = cli("audit", "list", "--actor", "alice", "--since", "1h", "-o", "json")
    events = json.loads(out)["events"]
    assert code == 0 and [e["seq"] for e in events] == [1, 3]
    assert events[0]["params"] == {"api_token": "********"}
    code, out, _ = cli("audit", "list", "--limit", "1")
    assert code == 0 and "1 audit event(s)" in out and "alice" in out
    code, out, _ = cli("audit", "verify")
    assert code == 0 and "audit chain intact" in out and "3 row(s)" in out


def test_audit_verify_exits_3_naming_the_edited_row(cli: Cli) -> None:
    assert cli("db", "migrate")[0] == 0
    with cli.store() as store:
        for i in range(4):
            store.append_audit("alice", "admin", "pause", "ethereum/X", {"i": i})
        tamper(store, "UPDATE audit_events SET result = 'failed' WHERE seq = 2")
    code, out, err = cli("audit", "verify")
    assert code == 3
    assert "BROKEN at row seq=2" in out
    assert "audit chain broken at row seq=2" in err and "altered" in err
    code, out, err = cli("audit", "verify", "-o", "json")
    assert code == 3
    assert json.loads(out)["broken"]["seq"] == 2
    assert json.loads(err)["error"] == "audit-chain-broken"


def test_backup_restore_refuses_over_data_without_force(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    assert cli("db", "migrate")[0] == 0
    with cli.store() as store:
        store.append_audit("alice", "admin", "pause", "ethereum/X")
        store.record_transaction("ethereum", "0x" + "ab" * 32, "pause")
        expected = all_rows(store)
    backup = tmp_path / "sphinx.backup"
    code, out, err = cli("db", "backup", str(backup))
    assert code == 0 and backup.is_file() and "sha256" in out and "backing up" in err

    code, _, err = cli("db", "restore", str(backup))
    assert code == 1
    assert "refusing to restore over a non-empty database" in err and "--force" in err

    with cli.store() as store:
        store.append_audit("bob", "admin", "unpause", "ethereum/X")
    code, out, _ = cli("db", "restore", str(backup), "--force", "-o", "json")
    assert code == 0 and json.loads(out)["rows_before"] == 3
    with cli.store() as store:
        assert all_rows(store) == expected


def test_restore_into_a_fresh_database(cli: Cli, tmp_path: Path, config_dir: Path) -> None:
    assert cli("db", "migrate")[0] == 0
    with cli.store() as store:
        store.append_audit("alice", "admin", "pause", "ethereum/X")
        expected = all_rows(store)
    backup = tmp_path / "fresh.backup"
    assert cli("db", "backup", str(backup))[0] == 0
    with cli.store() as store:  # empty it by rolling the schema back
        store.downgrade("base")
    code, out, _ = cli("db", "restore", str(backup))
    assert code == 0, out
    with cli.store() as store:
        assert all_rows(store) == expected
    assert cli("audit", "verify")[0] == 0


def test_database_down_is_a_clear_error(config_dir: Path, clean_env: pytest.MonkeyPatch) -> None:
    port = free_port()
    cli = Cli(
        config_dir, f"postgresql://sphinx:pw-not-shown@127.0.0.1:{port}/sphinx", "pw-not-shown"
    )
    for args in (("db", "status"), ("db", "migrate"), ("audit", "verify"), ("audit", "list")):
        code, _, err = cli(*args)
        assert code == 1, args
        assert "store-unavailable" in err and f"127.0.0.1:{port}" in err


def test_mainnet_without_database_url_never_falls_back_to_sqlite(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, _, err = Cli(config_dir, None, None)("db", "status", env="mainnet")
    assert code == 2 and "DATABASE_URL" in err
    assert not (config_dir.parent / ".sphinxctl").exists()


def test_bad_since_is_a_usage_error(config_dir: Path, clean_env: pytest.MonkeyPatch) -> None:
    code, _, err = Cli(config_dir, None, None)("audit", "list", "--since", "yesterday-ish")
    assert code == 2 and "invalid --since" in err
