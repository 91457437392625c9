"""Merkle tree of a rarity snapshot, as SpaceFlightNFT.verifyRarity checks it.

Leaves are OpenZeppelin StandardMerkleTree leaves of `(uint256 tokenId, uint16 phiScore,
uint256 rank)`: `keccak256(bytes.concat(keccak256(abi.encode(tokenId, phiScore, rank))))`
(double hashing keeps a leaf from ever equalling an inner node). Inner nodes hash their two
children in sorted order (OpenZeppelin MerkleProof). The layout follows StandardMerkleTree:
leaves sorted by hash, stored at the end of a flat array in reverse order, node `i` having
children `2i+1` and `2i+2`; so roots match the JavaScript library's for the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_hash.auto import keccak

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
        return b"".join(v.to_bytes(32, "big") for v in (self.token_id, self.phi_score, self.rank))

    def hash(self) -> bytes:
        return keccak(keccak(self.encode()))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Commutative inner-node hash (the smaller child first)."""
    return keccak(a + b) if a <= b else keccak(b + a)


def process_proof(leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to from a leaf hash (OpenZeppelin MerkleProof.processProof)."""
    node = leaf_hash
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(proof: Sequence[bytes], root: bytes, leaf: RarityLeaf) -> bool:
    """True when `proof` proves `leaf` under `root`."""
    return process_proof(leaf.hash(), proof) == root


class MerkleTree:
    """A complete binary tree over a snapshot's leaves; proofs for any leaf by token id."""

    def __init__(self, leaves: Sequence[RarityLeaf]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        hashed = sorted(((leaf.hash(), leaf) for leaf in leaves), key=lambda pair: pair[0])
        size = 2 * len(hashed) - 1
        nodes: list[bytes] = [b""] * size
        self._position: dict[int, int] = {}
        for i, (digest, leaf) in enumerate(hashed):
            index = size - 1 - i
            nodes[index] = digest
            if leaf.token_id in self._position:
                raise ValueError(f"token {leaf.token_id} appears twice in the snapshot")
            self._position[leaf.token_id] = index
        for index in range(size - 1 - len(hashed), -1, -1):
            nodes[index] = hash_pair(nodes[2 * index + 1], nodes[2 * index + 2])
        self._nodes = nodes
        self.leaves: tuple[RarityLeaf, ...] = tuple(leaves)

    @property
    def root(self) -> bytes:
        return self._nodes[0]

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._position

    def proof(self, token_id: int) -> list[bytes]:
        """Sibling hashes from the token's leaf up to the root; KeyError for an unknown token."""
        index = self._position[token_id]
        path: list[bytes] = []
        while index > 0:
            sibling = index + 1 if index % 2 == 1 else index - 1
            path.append(self._nodes[sibling])
            index = (index - 1) // 2
        return path


def rank_scores(scores: dict[int, int]) -> list[RarityLeaf]:
    """Rank tokens by phi score, highest first; ties go to the older (lower) token id.

    Ranks are ordinal (1..n, no gaps), so every token has exactly one place in a snapshot.
    """
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [
        RarityLeaf(token_id=token_id, phi_score=score, rank=rank)
        for rank, (token_id, score) in enumerate(ordered, start=1)
    ]
