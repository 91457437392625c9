"""The API on PostgreSQL: replicas share snapshots and the audit trail; a database outage
answers 503 with a clear body, keeps /health up, names the database in /health/ready, and
loses nothing (an action refused for lack of a database was not performed)."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

import httpx
import pytest

from sphinxctl.api.routes.health import READY_CACHE_SECONDS
from sphinxctl.store import Store
from tests.support.api_env import DevnetProject, LiveServer, ServeProcess, auth, take_snapshot
from tests.support.postgres_server import PostgresServer, postgres_server  # noqa: F401

pytestmark = pytest.mark.integration

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SPHINXCTL_", "SPHINX_"))}


def test_a_snapshot_published_through_one_replica_is_served_by_another(
    devnet: DevnetProject,
    tokens: dict[str, str],
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    url = postgres_server.create_database()
    with Store.from_url(url) as store:
        store.migrate()
    config_dir = devnet.variant(database={"url": url})
    env = clean_environ()
    one, two = ServeProcess(config_dir, env=env), ServeProcess(config_dir, env=env)
    with devnet.snapshot(), ExitStack() as stack:
        for server in (one, two):  # both start at once, then both must answer
            stack.callback(server.__exit__)
            server.start()
        one.wait()
        two.wait()
        first = httpx.Client(base_url=one.url, timeout=60)
        second = httpx.Client(base_url=two.url, timeout=60)
        for score in (310, 870, 555, 990):
            minted = first.post(
                "/api/v1/nfts/polygon/mint",
                headers=auth(tokens["minter"]),
                json={"recipient": ALICE, "phi_score": score},
            )
            assert minted.status_code == 200, minted.text
        published = take_snapshot(first, tokens["operator"], "polygon")
        root = published["root"]
        for token_id in (1, 2, 3, 4):
            path = f"/api/v1/nfts/polygon/{token_id}/rarity-proof"
            from_one = first.get(path, headers=auth(tokens["viewer"])).json()
            from_two = second.get(path, headers=auth(tokens["viewer"])).json()
            assert from_two == from_one
            assert from_two["verified"] is True and from_two["root"] == root
        assert [
            r["rank"]
            for r in second.get(
                "/api/v1/nfts/polygon/rarity",
                params={"ids": "4,2,3,1"},
                headers=auth(tokens["viewer"]),
            ).json()["ranking"]
        ] == [1, 2, 3, 4]
        assert "Traceback" not in one.output() + two.output()
    with Store.from_url(url) as store:
        events = store.list_audit(limit=100)
        assert [e.action for e in events].count("nft.mint") == 8  # requested + confirmed, x4
        assert ("rarity.publish", "confirmed") in [(e.action, e.result) for e in events]
        assert store.verify_audit().ok
        snapshot = store.get_snapshot("polygon", root=root)
        assert snapshot is not None and snapshot.published_tx is not None


def test_database_down_answers_503_and_nothing_is_performed_unrecorded(
    devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    from sphinxctl.api import create_app

    with PostgresServer() as pg:
        url = pg.create_database()
        with Store.from_url(url) as store:
            store.migrate()
        settings = devnet.settings_with(database={"url": url})
        app = create_app(settings, devnet.root, poll_interval=3600)
        with devnet.snapshot(), LiveServer(app) as server:
            api = httpx.Client(base_url=server.url, timeout=60)
            mint = {"recipient": ALICE, "phi_score": 640}
            assert api.get("/health/ready").status_code == 200
            first = api.post(
                "/api/v1/nfts/ethereum/mint", headers=auth(tokens["minter"]), json=mint
            )
            assert first.json()["token_id"] == 1
            pg.stop()

            assert api.get("/health").status_code == 200
            time.sleep(READY_CACHE_SECONDS)  # the last report (ready) is cached this long
            ready = api.get("/health/ready", headers=auth(tokens["admin"]))
            assert ready.status_code == 503
            assert ready.json()["failed"] == ["database"]
            assert "database unavailable" in ready.json()["database"]["detail"]

            refused = api.post(
                "/api/v1/nfts/ethereum/mint", headers=auth(tokens["minter"]), json=mint
            )
            assert refused.status_code == 503
            body = refused.json()
            assert body["error"] == "store-unavailable"
            assert "database unavailable" in body["message"] and body["hint"]
            assert refused.headers["retry-after"]
            assert pg.password not in refused.text
            snapshot = api.post(
                "/api/v1/nfts/ethereum/rarity-snapshot",
                params={"publish": "true"},
                headers=auth(tokens["operator"]),
            )
            assert snapshot.status_code == 503, snapshot.text
            assert snapshot.json()["error"] == "store-unavailable"
            # The chain never saw the refused actions.
            assert nft_view(devnet, "0xa2309ff8") == 1  # totalMinted()
            assert nft_view(devnet, "0x4b2f6138") == 0  # rarityRoot(): nothing published
            proof = api.get("/api/v1/nfts/ethereum/1/rarity-proof", headers=auth(tokens["viewer"]))
            assert proof.status_code == 404  # no root on chain: answered without the database
            # Reads that need only the chain keep working.
            vault = api.get("/api/v1/vault/ethereum", headers=auth(tokens["viewer"]))
            assert vault.status_code == 200

            pg.start()
            time.sleep(READY_CACHE_SECONDS)
            assert api.get("/health/ready").status_code == 200
            ok = api.post("/api/v1/nfts/ethereum/mint", headers=auth(tokens["minter"]), json=mint)
            assert ok.status_code == 200, ok.text
            assert ok.json()["token_id"] == 2
        with Store.from_url(url) as store:
            recorded = [(e.action, e.result) for e in store.list_audit(limit=100)]
            assert recorded == [("nft.mint", "requested"), ("nft.mint", "confirmed")] * 2
            assert store.verify_audit().ok
            assert len(store.list_transactions(chain="ethereum")) == 2


def nft_view(devnet: DevnetProject, selector: str) -> int:
    raw = devnet.rpc("ethereum", "eth_call", {"to": _nft(devnet), "data": selector}, "latest")
    return int(raw, 16)


def _nft(devnet: DevnetProject) -> str:
    from sphinxctl.deploy.records import load_record

    record = load_record(devnet.root, "local")
    assert record is not None
    address = record.address_of("ethereum", "SpaceFlightNFT")
    assert address is not None
    return address
