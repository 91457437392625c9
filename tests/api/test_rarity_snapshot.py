"""Rarity snapshots at collection scale on the devnet: a 5,000-token job published once whose
proofs the contract's verifyRarity accepts, in ~tokens/500 read round trips; kill -9 of the
server or the CLI mid-job, then a rerun that completes with exactly one setRarityRoot; the
bad inputs (unknown chain, no token, unknown job) answered with a clear 4xx."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sphinxctl.rarity.publish import ROOT_UPDATED
from tests.api.test_e2e_devnet import _address, nft_call
from tests.support.api_env import (
    DevnetProject,
    LiveServer,
    ServeProcess,
    auth,
    take_snapshot,
    wait_for_job,
)
from tests.support.collection import mint_collection

pytestmark = pytest.mark.integration


def nft(devnet: DevnetProject, chain: str = "ethereum") -> str:
    return _address(devnet, chain, "SpaceFlightNFT")


def mint(devnet: DevnetProject, count: int, chain: str = "ethereum") -> dict[int, int]:
    return mint_collection(devnet.settings.chains[chain].rpc_urls[0], nft(devnet, chain), count)


@pytest.fixture(scope="module")
def collection(devnet: DevnetProject) -> Iterator[dict[int, int]]:
    """5,000 tokens on ethereum for this module (each test reverts what it does on top)."""
    with devnet.snapshot():
        yield mint(devnet, 5000)


def root_updates(devnet: DevnetProject, root: str, chain: str = "ethereum") -> int:
    """How many setRarityRoot transactions set `root` (RarityRootUpdated logs)."""
    flt = {"address": nft(devnet, chain), "fromBlock": "0x0", "toBlock": "latest",
           "topics": [ROOT_UPDATED, None, root]}  # fmt: skip
    return len(devnet.rpc(chain, "eth_getLogs", flt))


def onchain_root(devnet: DevnetProject, chain: str = "ethereum") -> str:
    return "0x" + bytes(nft_call(devnet, chain, "rarityRoot")[0]).hex()


def test_5000_token_snapshot_is_published_once_and_its_proofs_verify_on_chain(
    live_api: LiveServer,
    devnet: DevnetProject,
    tokens: dict[str, str],
    collection: dict[int, int],
) -> None:
    api = httpx.Client(base_url=live_api.url, timeout=60)
    scores = collection
    with devnet.snapshot():
        started = api.post(
            "/api/v1/nfts/ethereum/rarity-snapshot",
            params={"publish": "true"},
            headers=auth(tokens["operator"]),
        )
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        assert started.headers["location"].endswith(f"/rarity-snapshot/{job_id}")
        job = wait_for_job(api, tokens["operator"], "ethereum", job_id)
        assert job["status"] == "succeeded", job
        assert job["leaf_count"] == job["done"] == job["total"] == 5000
        assert job["published"] is True and job["tx_hash"]
        assert job["round_trips"] <= 5000 // 100 + 5
        root = job["root"]
        assert onchain_root(devnet) == root
        assert root_updates(devnet, root) == 1

        ranked = sorted(scores, key=lambda t: (-scores[t], t))
        for token_id in (*ranked[:3], *ranked[-3:], *ranked[100:5000:700]):
            proof = api.get(
                f"/api/v1/nfts/ethereum/{token_id}/rarity-proof", headers=auth(tokens["viewer"])
            ).json()
            assert proof["verified"] is True and proof["root"] == root, proof
            assert proof["rank"] == ranked.index(token_id) + 1
            assert proof["phi_score"] == scores[token_id]
            assert len(proof["proof"]) in (12, 13)  # ceil/floor of log2(5000)
            siblings = [bytes.fromhex(p[2:]) for p in proof["proof"]]
            args = (token_id, proof["phi_score"], proof["rank"], siblings)
            assert nft_call(devnet, "ethereum", "verifyRarity", *args) == (True,)
            forged = (token_id, proof["phi_score"] + 1, proof["rank"], siblings)
            assert nft_call(devnet, "ethereum", "verifyRarity", *forged) == (False,)

        # The same collection again: same root, already on chain, so nothing is sent.
        again = take_snapshot(api, tokens["operator"], "ethereum")
        assert again["root"] == root and again["job_id"] != job_id
        assert again["tx_hash"] == job["tx_hash"]
        assert root_updates(devnet, root) == 1


def test_unknown_chain_empty_collection_and_unknown_job_are_clear_4xx(
    live_api: LiveServer,
    devnet: DevnetProject,
    tokens: dict[str, str],
    collection: dict[int, int],
) -> None:
    api = httpx.Client(base_url=live_api.url, timeout=30)
    operator = auth(tokens["operator"])
    unknown = api.post("/api/v1/nfts/solana/rarity-snapshot", headers=operator)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown-chain"
    with devnet.snapshot():
        assert nft_call(devnet, "polygon", "totalMinted") == (0,)
        empty = api.post("/api/v1/nfts/polygon/rarity-snapshot", headers=operator)
        assert empty.status_code == 409, empty.text
        assert empty.json()["error"] == "nothing-minted" and empty.json()["hint"]
    missing = api.get(f"/api/v1/nfts/ethereum/rarity-snapshot/{'ab' * 16}", headers=operator)
    assert missing.status_code == 404 and missing.json()["error"] == "snapshot-job-not-found"
    malformed = api.get("/api/v1/nfts/ethereum/rarity-snapshot/not-a-job", headers=operator)
    assert malformed.status_code == 422
    with devnet.snapshot():
        job = take_snapshot(api, tokens["operator"], "ethereum", publish=False)
        assert job["published"] is False and job["tx_hash"] is None
        elsewhere = api.get(
            f"/api/v1/nfts/polygon/rarity-snapshot/{job['job_id']}", headers=operator
        )
        assert elsewhere.status_code == 404  # a job is found under its own chain only


def clean_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPHINXCTL_", "SPHINX_"))}
    return {**env, **extra}


def test_server_killed_mid_snapshot_then_rerun_publishes_exactly_once(
    devnet: DevnetProject, tokens: dict[str, str], collection: dict[int, int]
) -> None:
    from sphinxctl.settings import load_settings
    from sphinxctl.store import Store

    config_dir = devnet.variant()
    settings = load_settings("local", config_dir).settings
    with devnet.snapshot():
        with ServeProcess(config_dir, env=clean_environ()) as first:
            started = httpx.post(
                f"{first.url}/api/v1/nfts/ethereum/rarity-snapshot",
                params={"publish": "true"},
                headers=auth(tokens["operator"]),
                timeout=30,
            )
            assert started.status_code == 202, started.text
            assert first.process is not None
            first.process.send_signal(signal.SIGKILL)  # the job is reading: 5,000 tokens
            first.process.wait()
        job_id = started.json()["job_id"]
        with Store.from_settings(settings, config_dir.parent) as store:
            stranded = store.snapshots.get_job(job_id)
            assert stranded is not None and stranded.status == "running"
        with ServeProcess(config_dir, env=clean_environ()) as second:
            api = httpx.Client(base_url=second.url, timeout=30)
            rerun = api.post(
                "/api/v1/nfts/ethereum/rarity-snapshot",
                params={"publish": "true"},
                headers=auth(tokens["operator"]),
            )
            assert rerun.status_code == 202 and rerun.json()["job_id"] == job_id  # taken over
            job = wait_for_job(api, tokens["operator"], "ethereum", job_id)
            assert "Traceback" not in second.output()
        assert job["status"] == "succeeded" and job["attempts"] == 2, job
        assert job["published"] is True and job["leaf_count"] == 5000
        assert onchain_root(devnet) == job["root"]
        assert root_updates(devnet, job["root"]) == 1


def cli_snapshot(config_dir: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = {"SPHINXCTL_TEST_CRASH_AT": crash_at} if crash_at else {}
    command = [str(Path(sys.executable).with_name("sphinxctl")), "--config-dir", str(config_dir),
               "-e", "local", "rarity", "snapshot", "--chain", "ethereum", "--publish", "--yes",
               "-o", "json"]  # fmt: skip
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=clean_environ(**extra),
        cwd=config_dir.parent,
        timeout=120,
        check=False,
    )


# Points a publish passes: journaled (signed and journaled, not broadcast: the rerun sends the
# same bytes), broadcast (mined by anvil's automine, not recorded: the rerun finds the root on
# chain). `recorded:2` (published and recorded, the job not marked done) takes the same path
# as `broadcast` on the rerun, so it is left out to keep the suite lean.
@pytest.mark.parametrize("crash_at", ["journaled:1", "broadcast:1"])
def test_cli_snapshot_killed_at_each_publish_step_reruns_to_one_set_rarity_root(
    devnet: DevnetProject, collection: dict[int, int], crash_at: str
) -> None:
    from sphinxctl.settings import load_settings
    from sphinxctl.store import Store

    config_dir = devnet.variant()
    with devnet.snapshot():
        crashed = cli_snapshot(config_dir, crash_at)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        rerun = cli_snapshot(config_dir)
        assert rerun.returncode == 0, rerun.stderr
        job: dict[str, Any] = json.loads(rerun.stdout)
        assert job["status"] == "succeeded" and job["published"] is True
        assert job["attempts"] == 2 and job["leaf_count"] == len(collection)
        assert onchain_root(devnet) == job["root"]
        assert root_updates(devnet, job["root"]) == 1
    settings = load_settings("local", config_dir).settings
    with Store.from_settings(settings, config_dir.parent) as store:
        results = [e.result for e in store.list_audit(limit=100) if e.action == "rarity.publish"]
        assert "requested" in results and results[-1].startswith("confirmed"), results
        sent = [t for t in store.list_transactions(chain="ethereum") if t.kind == "rarity_publish"]
        assert [(t.tx_hash, t.status) for t in sent] == [(job["tx_hash"], "confirmed")]
        assert store.verify_audit().ok


class RefusingBigBatches:
    """Fault injection (no real node refuses on demand): forwards to the real client, but
    answers an error, as a node over its eth_call gas cap would, for any aggregate3 call
    carrying more than `limit` calls."""

    def __init__(self, client: Any, limit: int) -> None:
        self.client, self.limit, self.refused = client, limit, 0
        self.name = client.name

    def code(self, address: str) -> str:
        return str(self.client.code(address))

    def call(self, tx: dict[str, Any]) -> str:
        from sphinxctl.chains.rpc import RpcError

        calls = int(tx["data"][10 + 64 : 10 + 128], 16)  # the array length after its offset
        if calls > self.limit:
            self.refused += 1
            raise RpcError("eth_call", -32000, "out of gas: gas required exceeds allowance")
        return str(self.client.call(tx))


def test_reader_batches_skips_missing_tokens_and_splits_refused_batches(
    devnet: DevnetProject, collection: dict[int, int]
) -> None:
    from sphinxctl.chains.rpc import ChainClient
    from sphinxctl.rarity.errors import MulticallMissing
    from sphinxctl.rarity.reads import ScoreReader

    scores = {t: collection[t] for t in range(4001, 5001)}
    client = ChainClient(devnet.settings.chains["ethereum"])
    reader = ScoreReader(client, nft(devnet), batch_size=250)
    assert reader.total_minted() == 5000
    assert reader.scores(list(range(4001, 5003))) == scores  # 5001 and 5002 do not exist
    assert reader.round_trips == 1 + 1 + 5  # totalMinted, code check, ceil(1002 / 250)

    refusing = RefusingBigBatches(client, limit=100)
    split = ScoreReader(refusing, nft(devnet), batch_size=250)  # type: ignore[arg-type]
    assert split.scores(list(range(4001, 5001))) == scores
    assert refusing.refused == 4 * 3  # each 250 refused, then both of its 125 halves

    nowhere = ScoreReader(client, nft(devnet), multicall="0x" + "5e" * 20)
    with pytest.raises(MulticallMissing):
        nowhere.scores([1])
