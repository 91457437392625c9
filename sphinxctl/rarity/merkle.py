"""Merkle tree of a rarity snapshot, as SpaceFlightNFT.verifyRarity checks it.

Leaves are OpenZeppelin StandardMerkleTree leaves of `(uint256 tokenId, uint16 phiScore,
uint256 rank)`: `keccak256(bytes.concat(keccak256(abi.encode(tokenId, phiScore, rank))))`
(double hashing keeps a leaf from ever equalling an inner node). Inner nodes hash their two
children in sorted order (OpenZeppelin MerkleProof). The layout follows StandardMerkleTree:
leaves sorted by hash, stored at the end of a flat array in reverse order, node `i` having
children `2i+1` and `2i+2`; so roots match the JavaScript library's for the same values.

Each leaf is hashed once (the hash both sorts the leaves and fills the tree) with a native
keccak (`sphinxctl.rarity.keccak`); the flat node array is what the store keeps, so a proof is
the ~log2(n) sibling nodes of a leaf's index (`proof_indices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sphinxctl.rarity.keccak import keccak256

_UINT16_MAX = 2**16 - 1
_UINT256_MAX = 2**256 - 1


@dataclass(frozen=True)
class RarityLeaf:
    """One token's place in a snapshot: its id, its phi score and its rank (1 = rarest)."""

    token_id: int
    phi_score: int
    rank: int

    def __post_init__(self) -> None:
        if not 0 <= self.token_id <= _UINT256_MAX or not 0 <= self.rank <= _UINT256_MAX:
            raise ValueError("token id and rank must fit in uint256")
        if not 0 <= self.phi_score <= _UINT16_MAX:
            raise ValueError("phi score must fit in uint16")

    def encode(self) -> bytes:
        """abi.encode(uint256, uint16, uint256): three big-endian 32-byte words."""
        return encode_leaf(self.token_id, self.phi_score, self.rank)

    def hash(self) -> bytes:
        return keccak256(keccak256(self.encode()))


def encode_leaf(token_id: int, phi_score: int, rank: int) -> bytes:
    return token_id.to_bytes(32, "big") + phi_score.to_bytes(32, "big") + rank.to_bytes(32, "big")


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Commutative inner-node hash (the smaller child first)."""
    return keccak256(a + b) if a <= b else keccak256(b + a)


def process_proof(leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to from a leaf hash (OpenZeppelin MerkleProof.processProof)."""
    node = leaf_hash
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(proof: Sequence[bytes], root: bytes, leaf: RarityLeaf) -> bool:
    """True when `proof` proves `leaf` under `root`."""
    return process_proof(leaf.hash(), proof) == root


def proof_indices(index: int) -> list[int]:
    """Node indices of the siblings on the path from node `index` up to the root."""
    path: list[int] = []
    while index > 0:
        path.append(index + 1 if index % 2 == 1 else index - 1)
        index = (index - 1) // 2
    return path


class MerkleTree:
    """A complete binary tree over ranked leaves; proofs for any leaf by token id.

    Built from parallel lists (token ids, scores, ranks) so a 100,000-token snapshot creates
    no object per leaf; `leaves` materialises RarityLeaf objects on demand.
    """

    def __init__(self, leaves: Sequence[RarityLeaf]) -> None:
        self._build(
            [leaf.token_id for leaf in leaves],
            [leaf.phi_score for leaf in leaves],
            [leaf.rank for leaf in leaves],
        )

    @classmethod
    def from_scores(cls, scores: dict[int, int]) -> MerkleTree:
        """The tree over `scores` ranked by `rank_scores`' rule, without per-leaf objects."""
        for token_id, score in scores.items():
            if not 0 <= token_id <= _UINT256_MAX:
                raise ValueError("token id must fit in uint256")
            if not 0 <= score <= _UINT16_MAX:
                raise ValueError("phi score must fit in uint16")
        ordered = sorted(scores.items(), key=_rank_key)
        tree = cls.__new__(cls)
        tree._build(
            [t for t, _ in ordered], [s for _, s in ordered], list(range(1, len(ordered) + 1))
        )
        return tree

    def _build(self, ids: list[int], scores: list[int], ranks: list[int]) -> None:
        count = len(ids)
        if not count:
            raise ValueError("a Merkle tree needs at least one leaf")
        k = keccak256
        hashes = [
            k(k(t.to_bytes(32, "big") + s.to_bytes(32, "big") + r.to_bytes(32, "big")))
            for t, s, r in zip(ids, scores, ranks, strict=True)
        ]
        order = sorted(range(count), key=hashes.__getitem__)
        size = 2 * count - 1
        nodes: list[bytes] = [b""] * size
        index_of = [0] * count
        for i, leaf in enumerate(order):
            nodes[size - 1 - i] = hashes[leaf]
            index_of[leaf] = size - 1 - i
        for i in range(count - 2, -1, -1):
            a, b = nodes[2 * i + 1], nodes[2 * i + 2]
            nodes[i] = k(a + b) if a <= b else k(b + a)
        self._position = dict(zip(ids, index_of, strict=True))
        if len(self._position) != count:
            raise ValueError("a token appears twice in the snapshot")
        self._nodes = nodes
        self.token_ids, self.scores, self.ranks = ids, scores, ranks
        self.leaf_hashes, self.leaf_indices = hashes, index_of

    @property
    def root(self) -> bytes:
        return self._nodes[0]

    @property
    def nodes(self) -> list[bytes]:
        """The flat node array (root at 0; leaves at the end, in reverse hash order)."""
        return self._nodes

    @property
    def leaves(self) -> tuple[RarityLeaf, ...]:
        return tuple(
            RarityLeaf(t, s, r)
            for t, s, r in zip(self.token_ids, self.scores, self.ranks, strict=True)
        )

    def __len__(self) -> int:
        return len(self.token_ids)

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._position

    def proof(self, token_id: int) -> list[bytes]:
        """Sibling hashes from the token's leaf up to the root; KeyError for an unknown token."""
        return [self._nodes[i] for i in proof_indices(self._position[token_id])]


def _rank_key(item: tuple[int, int]) -> tuple[int, int]:
    return (-item[1], item[0])


def rank_scores(scores: dict[int, int]) -> list[RarityLeaf]:
    """Rank tokens by phi score, highest first; ties go to the older (lower) token id.

    Ranks are ordinal (1..n, no gaps), so every token has exactly one place in a snapshot.
    """
    ordered = sorted(scores.items(), key=_rank_key)
    return [
        RarityLeaf(token_id=token_id, phi_score=score, rank=rank)
        for rank, (token_id, score) in enumerate(ordered, start=1)
    ]
