"""Rarity: rank tokens by phi score, build the snapshot's Merkle tree, serve checked proofs.

Snapshots are saved in the store (leaves and proofs), so every replica serves the same proof
for a published root; a proof is always checked against the root read from the contract.
Feeds sphinxos_proof_generation_seconds, _verification_seconds and _success_rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from sphinxctl import metrics
from sphinxctl.api.chain import NFT
from sphinxctl.api.errors import ApiProblem
from sphinxctl.api.merkle import MerkleTree, RarityLeaf, rank_scores, verify
from sphinxctl.api.schemas import RankedToken, RarityProof, RarityRanking

if TYPE_CHECKING:
    from sphinxctl.api.services import ApiServices
    from sphinxctl.store import RaritySnapshot, SnapshotLeaf

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


def build_snapshot(scores: dict[int, int]) -> tuple[MerkleTree, list[SnapshotLeaf]]:
    """The tree over every token's (id, score, rank) and each leaf with its proof."""
    from sphinxctl.store import SnapshotLeaf

    if not scores:
        raise ApiProblem(409, "no token has been minted yet", reference="nothing-minted")
    with metrics.PROOF_GENERATION.time():
        tree = MerkleTree(rank_scores(scores))
        leaves = [
            SnapshotLeaf(
                token_id=leaf.token_id,
                phi_score=leaf.phi_score,
                rank=leaf.rank,
                leaf_hash=hex32(leaf.hash()),
                proof=[hex32(p) for p in tree.proof(leaf.token_id)],
            )
            for leaf in tree.leaves
        ]
    return tree, leaves


def create_snapshot(services: ApiServices, chain: str, created_by: str) -> RaritySnapshot:
    """Rank every minted token on `chain`, build the tree and save it (blocking)."""
    services.gateway.address(chain, NFT)
    tree, leaves = build_snapshot(services.gateway.all_scores(chain))
    return services.store.save_snapshot(chain, hex32(tree.root), leaves, created_by=created_by)


def ranking(services: ApiServices, chain: str, token_ids: list[int]) -> RarityRanking:
    """Rank the given tokens by their on-chain phi score (blocking)."""
    from sphinxctl.errors import StoreError

    services.gateway.address(chain, NFT)  # unknown chain or undeployed contract: 404
    unique = list(dict.fromkeys(token_ids))
    scores = services.gateway.phi_scores(chain, unique)
    present = {t: s for t, s in scores.items() if s is not None}
    snapshot_ranks: dict[int, int] = {}
    try:
        snapshot = services.store.get_snapshot(chain, published_only=True, with_leaves=True)
    except StoreError:
        snapshot = None  # ranking still works from the chain alone
    if snapshot is not None:
        snapshot_ranks = {leaf.token_id: leaf.rank for leaf in snapshot.leaves}
    tiers = {t: tier_for_score(s) for t, s in present.items()}
    ranked = [
        RankedToken(
            token_id=leaf.token_id,
            phi_score=leaf.phi_score,
            rank=leaf.rank,
            rarity_tier=tiers[leaf.token_id],
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


def proof(services: ApiServices, chain: str, token_id: int) -> RarityProof:
    """The token's leaf and proof under the root published on chain, verified (blocking)."""
    onchain = services.gateway.rarity_root(chain)
    if onchain == ZERO_ROOT:
        raise ApiProblem(
            404,
            f"no rarity root is published on {chain}",
            reference="rarity-root-unpublished",
            hint="an operator publishes one with POST .../rarity-snapshot?publish=true",
        )
    found = services.store.get_snapshot_proof(chain, token_id, root=hex32(onchain))
    if found is None:
        snapshot = services.store.get_snapshot(chain, root=hex32(onchain), with_leaves=False)
        if snapshot is None:
            raise ApiProblem(
                404,
                f"the root published on {chain} ({hex32(onchain)}) is not a snapshot this "
                "platform stored",
                reference="rarity-snapshot-unknown",
                hint="publish a new snapshot through the API",
            )
        raise ApiProblem(
            404, f"token {token_id} is not in the published snapshot", reference="token-not-ranked"
        )
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
