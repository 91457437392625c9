"""End to end on a deployed two-chain devnet, through the API over HTTP.

Mint, read the token and its rarity back, publish a snapshot whose proofs the contract's own
verifyRarity accepts, pause and see the chain refuse the mint, shut the vault down, watch the
poller's gauges, and see /health/ready turn 503 when an anvil node stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from sphinxctl.solidity.abi import AbiCodec
from tests.support.api_env import DevnetProject, LiveServer, auth, take_snapshot

pytestmark = pytest.mark.integration

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@pytest.fixture
def api(live_api: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live_api.url, timeout=60)


def nft_call(devnet: DevnetProject, chain: str, function: str, *args: object) -> tuple:
    from sphinxctl.solidity.artifacts import load_artifacts

    codec = AbiCodec({"SpaceFlightNFT": load_artifacts(devnet.root)["SpaceFlightNFT"].abi})
    address = _address(devnet, chain, "SpaceFlightNFT")
    data = codec.encode_call("SpaceFlightNFT", function, list(args))
    raw = devnet.rpc(chain, "eth_call", {"to": address, "data": data}, "latest")
    return codec.decode_output("SpaceFlightNFT", function, len(args), raw)


def _address(devnet: DevnetProject, chain: str, contract: str) -> str:
    from sphinxctl.deploy.records import load_record

    record = load_record(devnet.root, "local")
    assert record is not None
    address = record.address_of(chain, contract)
    assert address is not None
    return address


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def metric(api: httpx.Client, line_start: str) -> float | None:
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def mint(api: httpx.Client, token: str, chain: str, recipient: str, score: int) -> httpx.Response:
    return api.post(
        f"/api/v1/nfts/{chain}/mint",
        headers=auth(token),
        json={"recipient": recipient, "phi_score": score},
    )


def test_mint_then_read_token_rarity_and_contract_verified_proofs(
    api: httpx.Client, devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    from sphinxctl.store import Store

    with devnet.snapshot():
        minted = [
            mint(api, tokens["minter"], "ethereum", who, score)
            for who, score in ((ALICE, 640), (BOB, 980), (ALICE.lower(), 420))
        ]
        assert [r.status_code for r in minted] == [200, 200, 200], [r.text for r in minted]
        ids = [r.json()["token_id"] for r in minted]
        assert ids == [1, 2, 3]
        assert all(r.json()["status"] == "confirmed" for r in minted)
        assert minted[2].json()["recipient"] == ALICE  # lower case normalised to EIP-55

        token = api.get("/api/v1/nfts/ethereum/2", headers=auth(tokens["viewer"])).json()
        assert token["owner"] == BOB
        assert (token["phi_score"], token["rarity_tier"], token["rarity_tier_name"]) == (
            980,
            4,
            "legendary",
        )
        assert token["token_uri"].endswith("/2")
        gone = api.get("/api/v1/nfts/ethereum/7", headers=auth(tokens["viewer"]))
        assert gone.status_code == 404 and gone.json()["error"] == "token-not-found"

        ranking = api.get(
            "/api/v1/nfts/ethereum/rarity",
            params={"ids": "1,2,3,9"},
            headers=auth(tokens["viewer"]),
        ).json()
        assert [(t["token_id"], t["rank"]) for t in ranking["ranking"]] == [(2, 1), (1, 2), (3, 3)]
        assert ranking["missing"] == [9]

        none_yet = api.get("/api/v1/nfts/ethereum/1/rarity-proof", headers=auth(tokens["viewer"]))
        assert none_yet.status_code == 404
        body = take_snapshot(api, tokens["operator"], "ethereum")
        assert body["published"] is True and body["leaf_count"] == 3
        onchain_root = "0x" + bytes(nft_call(devnet, "ethereum", "rarityRoot")[0]).hex()
        assert onchain_root == body["root"]

        for token_id in ids:
            proof = api.get(
                f"/api/v1/nfts/ethereum/{token_id}/rarity-proof", headers=auth(tokens["viewer"])
            ).json()
            assert proof["verified"] is True and proof["onchain_root"] == body["root"]
            siblings = [bytes.fromhex(p[2:]) for p in proof["proof"]]
            args = (token_id, proof["phi_score"], proof["rank"], siblings)
            assert nft_call(devnet, "ethereum", "verifyRarity", *args) == (True,)
            forged = (token_id, proof["phi_score"], proof["rank"] + 1, siblings)
            assert nft_call(devnet, "ethereum", "verifyRarity", *forged) == (False,)
        ranked = api.get(
            "/api/v1/nfts/ethereum/rarity", params={"ids": "3,1"}, headers=auth(tokens["viewer"])
        ).json()["ranking"]
        assert [t["snapshot_rank"] for t in ranked] == [2, 3]
        assert metric(api, "sphinxos_proof_success_rate") == 1.0

    store = Store.from_settings(devnet.settings, devnet.root)
    try:
        actions = [(e.action, e.result, e.actor) for e in store.list_audit(limit=1000)]
        assert ("nft.mint", "requested", "test-minter") in actions
        assert ("nft.mint", "confirmed", "test-minter") in actions
        assert ("rarity.publish", "confirmed", "test-operator") in actions
        kinds = {(t.kind, t.status) for t in store.list_transactions(chain="ethereum", limit=1000)}
        assert {("mint", "confirmed"), ("rarity_publish", "confirmed")} <= kinds
        assert store.verify_audit().ok
    finally:
        store.close()
    scrape = api.get("/metrics").text
    assert 'sphinxos_transactions_total{chain="ethereum",kind="mint",status="confirmed"}' in scrape


def test_pause_through_the_api_makes_the_chain_refuse_mints(
    api: httpx.Client, devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    with devnet.snapshot():
        assert mint(api, tokens["minter"], "polygon", ALICE, 500).status_code == 200
        paused = api.post(
            "/api/v1/admin/polygon/SpaceFlightNFT/pause", headers=auth(tokens["admin"])
        )
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True
        assert nft_call(devnet, "polygon", "paused") == (True,)

        refused = mint(api, tokens["minter"], "polygon", ALICE, 500)
        assert refused.status_code == 409
        assert refused.json()["details"]["revert"] == "EnforcedPause"
        assert nft_call(devnet, "polygon", "totalMinted") == (1,)
        again = api.post(
            "/api/v1/admin/polygon/SpaceFlightNFT/pause", headers=auth(tokens["admin"])
        )
        assert again.status_code == 409
        line = 'sphinxos_contract_paused{chain="polygon",contract="SpaceFlightNFT"}'
        assert wait_for(lambda: metric(api, line) == 1.0)

        operator = api.post(
            "/api/v1/admin/polygon/SpaceFlightNFT/unpause", headers=auth(tokens["operator"])
        )
        assert operator.status_code == 403
        resumed = api.post(
            "/api/v1/admin/polygon/SpaceFlightNFT/unpause", headers=auth(tokens["admin"])
        )
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
        assert mint(api, tokens["minter"], "polygon", ALICE, 500).json()["token_id"] == 2
        assert wait_for(lambda: metric(api, line) == 0.0)


def test_emergency_shutdown_is_once_only_and_visible_in_vault_state(
    api: httpx.Client, devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    with devnet.snapshot():
        url = "/api/v1/admin/ethereum/vault/emergency-shutdown"
        first = api.post(url, headers=auth(tokens["admin"]))
        assert first.status_code == 200 and first.json()["emergency_shutdown"] is True
        second = api.post(url, headers=auth(tokens["admin"]))
        assert second.status_code == 409
        assert second.json()["details"]["revert"] == "EmergencyShutdownActive"
        vault = api.get("/api/v1/vault/ethereum", headers=auth(tokens["viewer"])).json()
        assert vault["emergency_shutdown"] is True and vault["paused"] is False
        # ERC-4626 view: nothing deposited, one whole share (asset decimals + 6) is worth 1 SPX
        assert vault["share_price"] == pytest.approx(1.0)
        assert vault["locked_profit_wei"] == "0" and vault["fees_accrued_wei"] == "0"
        assert vault["profit_unlock_seconds"] == 7 * 24 * 3600


def test_contracts_lists_every_deployment(api: httpx.Client, tokens: dict[str, str]) -> None:
    body = api.get("/api/v1/contracts", headers=auth(tokens["viewer"])).json()
    assert body["environment"] == "local"
    chains = {c["chain"]: c for c in body["chains"]}
    assert set(chains) == {"ethereum", "polygon"}
    names = {c["contract"] for c in chains["ethereum"]["contracts"]}
    assert {"SpaceFlightNFT", "SphinxYieldAggregator"} <= names


def test_readiness_turns_503_when_an_anvil_node_stops(
    api: httpx.Client, devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    ready = api.get("/health/ready", headers=admin)
    assert ready.status_code == 200, ready.text
    assert wait_for(lambda: metric(api, 'sphinxos_blockchain_connected{chain="polygon"}') == 1.0)
    assert metric(api, 'sphinxos_gas_price_gwei{chain="ethereum"}') is not None
    devnet.stop_node("polygon")
    try:
        # the report is cached for a second: poll until the probe sees the node gone
        assert wait_for(lambda: api.get("/health/ready").status_code == 503)
        probe = api.get("/health/ready").json()  # a probe sees names, no details
        assert set(probe) == {"ready", "failed"} and "chain:polygon" in probe["failed"]
        down = api.get("/health/ready", headers=admin)
        assert down.status_code == 503
        report = down.json()
        assert "chain:polygon" in report["failed"]
        assert "chain:ethereum" not in report["failed"]
        polygon = next(c for c in report["chains"] if c["chain"] == "polygon")
        assert polygon["reachable"] is False and polygon["error"]
        assert api.get("/health").status_code == 200
        assert wait_for(lambda: metric(api, 'sphinxos_node_health{chain="polygon"}') == 0.0)
    finally:
        devnet.restart_nodes()
    assert wait_for(lambda: api.get("/health/ready").status_code == 200)
