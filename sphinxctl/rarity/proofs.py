"""Rarity reads for the API: rank tokens by phi score, serve checked proofs from the store.

Snapshots are saved in the store (leaves and Merkle nodes), so every replica serves the same
proof for a published root; a proof is always checked against the root read from the
contract. Feeds sphinxos_proof_verification_seconds and _success_rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from sphinxctl import metrics
from sphinxctl.rarity.errors import RootNotPublished, SnapshotUnknown, TokenNotRanked
from sphinxctl.rarity.merkle import RarityLeaf, rank_scores, verify
from sphinxctl.rarity.models import RankedToken, RarityProof, RarityRanking
from sphinxctl.solidity.names import NFT

if TYPE_CHECKING:
    from sphinxctl.platform.gateway import ChainGateway
    from sphinxctl.store import Store

ZERO_ROOT = b"\x00" * 32


class ProofOutcomes:
    """Share of the last `window` served proofs that verified (sphinxos_proof_success_rate)."""

    def __init__(self, window: int = 100) -> None:
        self._results: deque[bool] = deque(maxlen=window)
        self._lock = threading.Lock()

    def add(self, ok: bool) -> float:
        with self._lock:
            self._results.append(ok)
            rate = sum(self._results) / len(self._results)
        metrics.PROOF_SUCCESS_RATE.set(rate)
        metrics.PROOFS.labels("verified" if ok else "failed").inc()
        return rate


OUTCOMES = ProofOutcomes()


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def ranking(gateway: ChainGateway, store: Store, chain: str, token_ids: list[int]) -> RarityRanking:
    """Rank the given tokens by their on-chain phi score (blocking)."""
    from sphinxctl.errors import StoreError

    gateway.address(chain, NFT)  # unknown chain or undeployed contract: 404
    unique = list(dict.fromkeys(token_ids))
    scores = gateway.phi_scores(chain, unique)
    present = {t: s for t, s in scores.items() if s is not None}
    try:
        snapshot_ranks = store.snapshots.ranks(chain, list(present), published_only=True)
    except StoreError:
        snapshot_ranks = {}  # ranking still works from the chain alone
    ranked = [
        RankedToken(
            token_id=leaf.token_id,
            phi_score=leaf.phi_score,
            rank=leaf.rank,
            rarity_tier=tier_for_score(leaf.phi_score),
            snapshot_rank=snapshot_ranks.get(leaf.token_id),
        )
        for leaf in rank_scores(present)
    ]
    return RarityRanking(
        chain=chain, ranking=ranked, missing=[t for t in unique if scores[t] is None]
    )


def tier_for_score(score: int) -> int:
    """The contract's tierForScore thresholds (<400, <600, <800, <950, rest)."""
    for tier, bound in enumerate((400, 600, 800, 950)):
        if score < bound:
            return tier
    return 4


def proof(gateway: ChainGateway, store: Store, chain: str, token_id: int) -> RarityProof:
    """The token's leaf and proof under the root published on chain, verified (blocking;
    O(log n) store reads)."""
    onchain = gateway.rarity_root(chain)
    if onchain == ZERO_ROOT:
        raise RootNotPublished(
            f"no rarity root is published on {chain}",
            hint="an operator publishes one with POST .../rarity-snapshot?publish=true",
        )
    found = store.get_snapshot_proof(chain, token_id, root=hex32(onchain))
    if found is None:
        snapshot = store.get_snapshot(chain, root=hex32(onchain), with_leaves=False)
        if snapshot is None:
            raise SnapshotUnknown(
                f"the root published on {chain} ({hex32(onchain)}) is not a snapshot this "
                "platform stored",
                hint="publish a new snapshot through the API",
            )
        raise TokenNotRanked(f"token {token_id} is not in the published snapshot")
    leaf = found.leaf
    siblings = [bytes.fromhex(p[2:]) for p in leaf.proof]
    started = time.perf_counter()
    ok = verify(siblings, onchain, RarityLeaf(leaf.token_id, leaf.phi_score, leaf.rank))
    metrics.PROOF_VERIFICATION.observe(time.perf_counter() - started)
    OUTCOMES.add(ok)
    return RarityProof(
        chain=chain,
        token_id=leaf.token_id,
        phi_score=leaf.phi_score,
        rank=leaf.rank,
        leaf=leaf.leaf_hash,
        proof=leaf.proof,
        root=found.root,
        onchain_root=hex32(onchain),
        verified=ok,
        snapshot_id=found.snapshot_id,
    )
