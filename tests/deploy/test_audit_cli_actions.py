"""Privileged CLI actions land in the audit trail: `deploy contracts` / `deploy handover` (one
`signed` and one `mined` event per transaction, when a PostgreSQL database is configured) and
`auth token` / `auth revoke` (the embedded SQLite default). No secret reaches a stored row, and
with the database down nothing is signed or issued."""

from __future__ import annotations

import getpass
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sphinxctl.deploy.models import DeployEvent
from sphinxctl.store import AuditEvent, Store
from tests.support.deploy_env import (
    Anvil,
    cli,
    dev_address,
    dev_key,
    journal,
    make_project,
    shared_template,
)
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import shared_redis

pytestmark = pytest.mark.integration
DEPLOYER = dev_address(0)


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    """A private server: one test stops it."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    started = Anvil(1)
    yield started
    started.stop()


@pytest.fixture
def fresh_node(node: Anvil) -> Iterator[Anvil]:
    """The chain as it was before the test (nothing deployed)."""
    snapshot = node.snapshot()
    yield node
    node.revert(snapshot)


@pytest.fixture
def database(pg: PostgresServer, clean_env: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh (unmigrated) database, named by DATABASE_URL."""
    url = pg.create_database()
    clean_env.setenv("DATABASE_URL", url)
    yield url
    if pg.running:
        pg.drop_database(url.rsplit("/", 1)[1])


def events(url: str) -> list[AuditEvent]:
    with Store.from_url(url) as store:
        return store.list_audit(limit=10_000)


def stored_rows(pg: PostgresServer, url: str) -> str:
    """Every audit row exactly as PostgreSQL holds it, as one text."""
    rows = pg.execute("SELECT row_to_json(a)::text FROM audit_events a", dbname=url.rsplit("/")[-1])
    return "\n".join(row[0] for row in rows).lower()


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_deploy_and_handover_record_one_event_per_transaction(
    pg: PostgresServer, fresh_node: Anvil, database: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", shared_template(), {"ethereum": fresh_node.url})
    ok(cli(project, "db", "migrate"))
    ok(cli(project, "deploy", "contracts", "--yes"))
    ok(cli(project, "deploy", "handover", "--to-safe", "--yes"))

    found = events(database)
    assert {(e.actor, e.role) for e in found} == {(getpass.getuser(), "operator-cli")}
    runs = [(e.action, e.result) for e in found if e.action != "deploy.transaction"]
    assert runs == [
        ("deploy.contracts", "started"),
        ("deploy.contracts", "ok"),
        ("deploy.handover", "started"),
        ("deploy.handover", "ok"),
    ]
    assert found[0].params["transactions"] == 7 and found[0].params["deployer"] == DEPLOYER

    txs = journal(project)["chains"]["ethereum"]["transactions"]
    assert len(txs) == 16  # 7 deployment + 9 handover transactions
    per_tx = [e for e in found if e.action == "deploy.transaction"]
    assert len(per_tx) == 2 * len(txs)
    for tx in txs:
        mine = [e for e in per_tx if e.params["tx_hash"] == tx["tx_hash"]]
        assert [e.result for e in mine] == ["signed", "mined"], tx["intent"]
        for event in mine:
            assert event.target == f"ethereum:{tx['contract']}"
            assert event.params["nonce"] == tx["nonce"] and event.params["intent"] == tx["intent"]
            assert event.params["phase"] == tx["phase"]
        assert mine[1].params["block_number"] == tx["block_number"]
    # Signed before mined, transactions in nonce order, handover after deployment.
    signed = [e.params["nonce"] for e in per_tx if e.result == "signed"]
    assert signed == list(range(16))

    # No secret in any stored row: not the deployer key, not a signed transaction's bytes.
    rows = stored_rows(pg, database)
    assert len(rows.splitlines()) == len(found)
    assert dev_key(0)[2:].lower() not in rows
    raws = [a["raw"] for tx in txs for a in tx["attempts"]]
    assert raws and all(
        raw[2:].lower() not in rows and raw[2:66].lower() not in rows for raw in raws
    )
    assert pg.password.lower() not in rows

    # A rerun that sends nothing records nothing; the chain of hashes holds.
    again = ok(cli(project, "deploy", "contracts", "--yes", "-o", "json"))
    assert json.loads(again.stdout)["sent"] == 0
    assert len(events(database)) == len(found)
    verify = ok(cli(project, "audit", "verify", "-o", "json"))
    assert json.loads(verify.stdout)["checked"] == len(found)


def test_database_lost_mid_deployment_stops_before_the_next_broadcast(
    pg: PostgresServer,
    fresh_node: Anvil,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL stops right after the 2nd transaction is recorded as mined: the 3rd is signed
    and journaled but never broadcast; the rerun records it as resumed, then finishes."""
    from sphinxctl.cli.deploy_view import DeployProgress

    project = make_project(tmp_path / "project", shared_template(), {"ethereum": fresh_node.url})
    ok(cli(project, "db", "migrate"))
    handle = DeployProgress._handle
    mined: list[str] = []

    def stop_database_after_two(self: DeployProgress, event: DeployEvent) -> None:
        handle(self, event)
        if event.kind == "tx-mined":
            mined.append(event.tx_hash or "")
            if len(mined) == 2:
                pg.stop()

    with monkeypatch.context() as patch:
        patch.setattr(DeployProgress, "_handle", stop_database_after_two)
        try:
            first = cli(project, "deploy", "contracts", "--yes")
        finally:
            pg.start()
    assert first.exit_code != 0, first.output
    assert "stopped before broadcasting" in first.output
    assert "audit event(s) could not be recorded" in first.output
    assert fresh_node.nonce(DEPLOYER) == 2
    assert [tx["status"] for tx in journal(project)["chains"]["ethereum"]["transactions"]] == [
        "mined",
        "mined",
        "signed",
    ]
    ok(cli(project, "deploy", "contracts", "--yes"))

    found = events(database)
    txs = journal(project)["chains"]["ethereum"]["transactions"]
    assert fresh_node.nonce(DEPLOYER) == len(txs) == 7
    for tx in txs:  # each one was recorded before it was broadcast, then its outcome
        results = [e.result for e in found if e.params.get("tx_hash") == tx["tx_hash"]]
        assert results == (["resumed", "mined"] if tx["nonce"] == 2 else ["signed", "mined"])
    runs = [(e.action, e.result) for e in found if e.action == "deploy.contracts"]
    assert runs == [("deploy.contracts", "started")] * 2 + [("deploy.contracts", "ok")]
    rows = stored_rows(pg, database)
    assert all(a["raw"][2:].lower() not in rows for tx in txs for a in tx["attempts"])
    ok(cli(project, "audit", "verify"))


def _token(config_dir: Path, *extra: str) -> dict[str, Any]:
    result = ok(
        cli(config_dir.parent, "auth", "token", "--sub", "alice", "--role", "minter", *extra)
    )
    return dict(json.loads(result.stdout))


def test_token_issuance_and_revocation_are_recorded_without_the_token(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("SPHINXCTL_REDIS_URL", shared_redis().url)
    project = config_dir.parent
    first = _token(config_dir, "--ttl", "15m", "-o", "json")
    second = _token(config_dir, "--aud", "other", "-o", "json")
    jti1, jti2 = first["claims"]["jti"], second["claims"]["jti"]
    ok(cli(project, "auth", "revoke", first["token"]))  # by the token itself
    ok(cli(project, "auth", "revoke", jti2))
    bad = cli(project, "auth", "revoke", "eyJhbGciOiJIUzI1NiJ9.e30.bad")
    assert bad.exit_code == 1

    db = project / ".sphinxctl" / "local.db"  # the embedded default, migrated on first use
    found = events(f"sqlite:///{db}")
    assert {(e.actor, e.role) for e in found} == {(getpass.getuser(), "operator-cli")}
    issued = [e for e in found if e.action == "auth.token"]
    assert [e.target for e in issued] == [f"jti:{jti1}", f"jti:{jti2}"]
    assert issued[0].params["sub"] == "alice" and issued[0].params["role"] == "minter"
    assert issued[0].params["jti"] == jti1 and issued[1].params["audience"] == ["other"]
    assert issued[0].params["expires_at"].startswith("20") and issued[0].result == "ok"
    revoked = [
        (e.target, e.result, e.params.get("jti")) for e in found if e.action == "auth.revoke"
    ]
    assert revoked[:4] == [
        (f"jti:{jti1}", "started", jti1),
        (f"jti:{jti1}", "ok", jti1),
        (f"jti:{jti2}", "started", jti2),
        (f"jti:{jti2}", "ok", jti2),
    ]
    assert revoked[4][:2] == ("jti:unknown", "started")
    assert revoked[5][1].startswith("failed: TokenRejected")

    # Neither token (nor its signature) is anywhere in the database file.
    content = db.read_bytes()
    for issued_token in (first["token"], second["token"]):
        assert issued_token.rsplit(".", 1)[1].encode() not in content
    with sqlite3.connect(db) as conn:
        rows = str(conn.execute("SELECT * FROM audit_events").fetchall())
    assert first["token"] not in rows and second["token"] not in rows
    ok(cli(project, "audit", "verify"))


def test_unmigrated_postgres_refuses_with_the_migrate_hint(
    database: str, fresh_node: Anvil, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", shared_template(), {"ethereum": fresh_node.url})
    token = cli(project, "auth", "token", "--sub", "a", "--role", "viewer")
    assert token.exit_code == 1 and token.stdout == ""
    assert "no token was issued" in token.stderr and "sphinxctl db migrate" in token.stderr
    deploy = cli(project, "deploy", "contracts", "--yes")
    assert deploy.exit_code == 1 and "store-not-migrated" in deploy.output
    assert "nothing was signed" in deploy.output and "sphinxctl db migrate" in deploy.output
    assert fresh_node.nonce(DEPLOYER) == 0


def test_database_down_refuses_deploy_and_token_before_signing(
    pg: PostgresServer, fresh_node: Anvil, database: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", shared_template(), {"ethereum": fresh_node.url})
    ok(cli(project, "db", "migrate"))
    nonce = fresh_node.nonce(DEPLOYER)
    pg.stop()
    try:
        deploy = cli(project, "deploy", "contracts", "--yes")
        assert deploy.exit_code == 1, deploy.output
        assert "nothing was signed: the audit trail cannot be written" in deploy.output
        assert "database unavailable" in deploy.output and "sphinxctl db status" in deploy.output
        assert pg.password not in deploy.output
        assert fresh_node.nonce(DEPLOYER) == nonce
        assert not (project / "deployments" / "local.json").exists()

        token = cli(project, "auth", "token", "--sub", "a", "--role", "viewer")
        assert token.exit_code == 1 and token.stdout == ""
        assert "no token was issued" in token.stderr and "store-unavailable" in token.stderr
    finally:
        pg.start()
    assert events(database) == []
    issued = ok(cli(project, "auth", "token", "--sub", "a", "--role", "viewer", "-o", "json"))
    jti = json.loads(issued.stdout)["claims"]["jti"]
    assert [e.target for e in events(database)] == [f"jti:{jti}"]
    ok(cli(project, "audit", "verify"))


def _shape(found: list[AuditEvent]) -> list[tuple[Any, ...]]:
    """What two runs of the same plan on the same chain state have in common (hashes, blocks and
    fees differ with the node's clock)."""
    keys = ("nonce", "intent", "phase", "kind", "transactions", "deployer", "sent")
    return [
        (e.actor, e.role, e.action, e.target, e.result, {k: e.params.get(k) for k in keys})
        for e in found
    ]


def test_a_python_caller_of_deploy_contracts_is_audited_like_the_cli(
    pg: PostgresServer, fresh_node: Anvil, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts
    from sphinxctl.settings import load_settings

    before = fresh_node.snapshot()
    by_cli, by_python = pg.create_database(), pg.create_database()
    try:
        clean_env.setenv("DATABASE_URL", by_cli)
        project = make_project(tmp_path / "cli", shared_template(), {"ethereum": fresh_node.url})
        ok(cli(project, "db", "migrate"))
        ok(cli(project, "deploy", "contracts", "--yes"))
        fresh_node.revert(before)

        clean_env.setenv("DATABASE_URL", by_python)
        project = make_project(tmp_path / "py", shared_template(), {"ethereum": fresh_node.url})
        ok(cli(project, "db", "migrate"))
        settings = load_settings("local", project / "environments").settings
        result = deploy_contracts(
            settings, DeployRequest(project_root=project), confirm=lambda _preview: True
        )
        assert result.sent == 7

        expected, found = events(by_cli), events(by_python)
        assert len(found) == 2 + 2 * 7  # started, ok, and signed + mined per transaction
        assert _shape(found) == _shape(expected)
        txs = journal(project)["chains"]["ethereum"]["transactions"]
        assert [e.params["tx_hash"] for e in found if e.result == "signed"] == [
            tx["tx_hash"] for tx in txs
        ]
    finally:
        for url in (by_cli, by_python):
            pg.drop_database(url.rsplit("/", 1)[1])


def test_a_python_caller_is_refused_before_signing_when_the_database_is_not_migrated(
    pg: PostgresServer, fresh_node: Anvil, database: str, tmp_path: Path
) -> None:
    from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts
    from sphinxctl.errors import StoreError
    from sphinxctl.settings import load_settings

    project = make_project(tmp_path / "project", shared_template(), {"ethereum": fresh_node.url})
    settings = load_settings("local", project / "environments").settings
    with pytest.raises(StoreError) as caught:
        deploy_contracts(settings, DeployRequest(project_root=project), confirm=lambda _p: True)
    assert caught.value.reference == "store-not-migrated"
    assert caught.value.message.startswith("nothing was signed")
    assert fresh_node.nonce(DEPLOYER) == 0
