"""Rarity snapshots at collection scale, each figure against a baseline measured in the same run.

1. keccak256 per hash (64-byte inputs): safe-pysha3 (kept) vs pycryptodome `keccak.new` (what
   eth-hash's backend calls) vs eth-hash's `keccak` itself.
2. Tree for 10,000 and 100,000 tokens: before = the previous algorithm, kept here as the
   baseline (eth-hash keccak, each leaf hashed twice, every leaf's proof built as hex strings
   into a SnapshotLeaf, as `build_snapshot` did) vs after = `MerkleTree.from_scores` (each
   leaf hashed once, native keccak; proofs are read from the stored nodes on demand). Also the
   time to store the 100,000-token tree (leaves + nodes) in SQLite, for the job's total.
3. A devnet snapshot of `--tokens` (5,000) minted tokens, published: RPC round trips counted
   by a proxy in front of anvil, and wall time; baseline = the previous read (one eth_call per
   token on 8 threads, `ChainGateway.all_scores`) through the same proxy.

Run: `.venv/bin/python bench/bench_rarity.py [--tokens 5000] [--skip-devnet]`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(run: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


# --- the previous algorithm (baseline) --------------------------------------------------------
@dataclass(frozen=True)
class OldLeaf:
    token_id: int
    phi_score: int
    rank: int

    def __post_init__(self) -> None:
        if not 0 <= self.token_id < 2**256 or not 0 <= self.phi_score < 2**16:
            raise ValueError("out of range")

    def hash(self) -> bytes:
        from eth_hash.auto import keccak

        encoded = b"".join(
            v.to_bytes(32, "big") for v in (self.token_id, self.phi_score, self.rank)
        )
        return bytes(keccak(keccak(encoded)))


def old_snapshot(scores: dict[int, int]) -> tuple[bytes, list[Any]]:
    from eth_hash.auto import keccak

    from sphinxctl.store import SnapshotLeaf

    def pair(a: bytes, b: bytes) -> bytes:
        return bytes(keccak(a + b) if a <= b else keccak(b + a))

    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    leaves = [OldLeaf(t, s, r) for r, (t, s) in enumerate(ordered, start=1)]
    hashed = sorted(((leaf.hash(), leaf) for leaf in leaves), key=lambda p: p[0])
    size = 2 * len(hashed) - 1
    nodes = [b""] * size
    position = {}
    for i, (digest, leaf) in enumerate(hashed):
        nodes[size - 1 - i] = digest
        position[leaf.token_id] = size - 1 - i
    for index in range(size - 1 - len(hashed), -1, -1):
        nodes[index] = pair(nodes[2 * index + 1], nodes[2 * index + 2])

    def proof(token_id: int) -> list[bytes]:
        index, path = position[token_id], []
        while index > 0:
            path.append(nodes[index + 1 if index % 2 == 1 else index - 1])
            index = (index - 1) // 2
        return path

    rows = [
        SnapshotLeaf(
            token_id=leaf.token_id,
            phi_score=leaf.phi_score,
            rank=leaf.rank,
            leaf_hash="0x" + leaf.hash().hex(),
            proof=["0x" + p.hex() for p in proof(leaf.token_id)],
        )
        for leaf in leaves
    ]
    return nodes[0], rows


# --- 1. keccak ------------------------------------------------------------------------------
def bench_keccak() -> None:
    from Crypto.Hash import keccak as crypto_keccak
    from eth_hash.auto import keccak as eth_keccak

    from sphinxctl.rarity.keccak import keccak256

    data = [os.urandom(64) for _ in range(100_000)]
    new = crypto_keccak.new
    native = best(lambda: [keccak256(d) for d in data])
    pycryptodome = best(lambda: [new(data=d, digest_bits=256).digest() for d in data])
    eth_hash = best(lambda: [eth_keccak(d) for d in data])
    assert keccak256(data[0]) == bytes(eth_keccak(data[0]))
    print("keccak256, 100,000 x 64 bytes (best of 3)")
    for name, seconds in (("safe-pysha3", native), ("pycryptodome keccak.new", pycryptodome),
                          ("eth-hash auto", eth_hash)):  # fmt: skip
        print(f"  {name:<26} {seconds * 1e6 / len(data):6.2f} us/hash")
    print(f"  ratio pycryptodome / safe-pysha3: {pycryptodome / native:.1f}x")


# --- 2. tree ----------------------------------------------------------------------------------
def bench_tree() -> None:
    from sphinxctl.rarity.merkle import MerkleTree
    from sphinxctl.store import Store

    rng = random.Random(1)
    print("\nsnapshot tree (best of 3; before = previous algorithm incl. per-leaf proofs)")
    for count in (10_000, 100_000):
        scores = {t: rng.randint(200, 1000) for t in range(1, count + 1)}
        rounds = 3 if count <= 10_000 else 1
        before = best(partial(old_snapshot, scores), rounds)
        after = best(partial(MerkleTree.from_scores, scores), 3)
        assert old_snapshot(scores)[0] == MerkleTree.from_scores(scores).root
        print(f"  {count:>7,} tokens: before {before:6.2f} s   after {after:6.3f} s   "
              f"ratio {before / after:5.1f}x   goal(100k) <= 1 s")  # fmt: skip
        if count == 100_000:
            tree = MerkleTree.from_scores(scores)
            with (
                tempfile.TemporaryDirectory() as directory,
                Store.from_url(f"sqlite:///{directory}/bench.db") as store,
            ):
                store.migrate()
                start = time.perf_counter()
                store.snapshots.save_tree("ethereum", tree)
                stored = time.perf_counter() - start
                start = time.perf_counter()
                for token_id in range(1, 1001):
                    store.get_snapshot_proof("ethereum", token_id)
                per_proof = (time.perf_counter() - start) / 1000
            print(f"  store 100,000 leaves + {len(tree.nodes):,} nodes in SQLite: {stored:.2f} s;"
                  f" a proof read back: {per_proof * 1000:.2f} ms")  # fmt: skip


# --- 3. devnet --------------------------------------------------------------------------------
def bench_devnet(tokens: int) -> None:
    from sphinxctl.api.services import DeploymentAddresses, LazyAbis, api_signer
    from sphinxctl.chains.rpc import ChainClient
    from sphinxctl.platform.gateway import ChainGateway
    from sphinxctl.rarity.jobs import SnapshotJobs
    from sphinxctl.store import Store
    from tests.support.api_env import DevnetProject
    from tests.support.collection import mint_collection
    from tests.support.flaky_proxy import FlakyProxy

    project = DevnetProject("redis://127.0.0.1:1/0")  # no API here: Redis is never used
    proxy: FlakyProxy | None = None
    try:
        project.start()
        settings, root = project.settings, project.root
        chain = settings.chains["ethereum"]
        addresses = DeploymentAddresses(root, "local").addresses
        start = time.perf_counter()
        mint_collection(chain.rpc_urls[0], addresses()["ethereum"]["SpaceFlightNFT"], tokens)
        print(f"\ndevnet: minted {tokens:,} tokens in {time.perf_counter() - start:.1f} s")
        assert chain.devnet_port is not None
        proxy = FlakyProxy(chain.devnet_port, rate=0.0)  # counts requests, injects nothing
        proxied = chain.model_copy(update={"rpc_urls": [proxy.url]})

        def gateway() -> ChainGateway:
            return ChainGateway(
                settings, addresses, LazyAbis(root).get, signer=api_signer(settings, root),
                client_factory=lambda _c, attempts: ChainClient(proxied, attempts=attempts),
            )  # fmt: skip

        before_requests = proxy.requests
        start = time.perf_counter()
        baseline = gateway().all_scores("ethereum")
        old_time, old_trips = time.perf_counter() - start, proxy.requests - before_requests
        with Store.from_settings(settings, root) as store:
            store.migrate()
            jobs = SnapshotJobs(store, gateway())
            before_requests = proxy.requests
            start = time.perf_counter()
            job, _ = jobs.submit("ethereum", publish=True, actor="bench", role="operator")
            done = jobs.run(job.job_id)
            new_time, new_trips = time.perf_counter() - start, proxy.requests - before_requests
        assert done.published and done.leaf_count == len(baseline) == tokens
        print(f"snapshot of {tokens:,} tokens, published (RPC round trips counted by a proxy)")
        print(f"  before: one eth_call per token, 8 threads   {old_trips:6,} round trips  "
              f"{old_time:6.2f} s (reads only)")  # fmt: skip
        print(f"  after:  Multicall3 batches of 500 + publish {new_trips:6,} round trips  "
              f"{new_time:6.2f} s (reads, tree, store, publish)")  # fmt: skip
        print(f"  of which score reads: {done.round_trips} (goal <= tokens/100 + c = "
              f"{tokens // 100} + c); ratio of round trips {old_trips / new_trips:.0f}x, "
              f"wall {old_time / new_time:.1f}x")  # fmt: skip
    finally:
        if proxy is not None:
            proxy.close()
        project.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--skip-devnet", action="store_true")
    args = parser.parse_args()
    bench_keccak()
    bench_tree()
    if not args.skip_devnet:
        bench_devnet(args.tokens)


if __name__ == "__main__":
    main()
