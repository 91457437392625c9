"""The rarity Merkle tree: OpenZeppelin leaves, sorted pairs, proofs that verify (and only those).

The contract-side check (SpaceFlightNFT.verifyRarity on anvil) is in tests/api/test_e2e_devnet.py
and tests/api/test_rarity_snapshot.py (5,000 tokens).
"""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinxctl.rarity.merkle import (
    MerkleTree,
    RarityLeaf,
    hash_pair,
    process_proof,
    proof_indices,
    rank_scores,
    verify,
)


def test_leaf_is_double_hashed_abi_encoding_of_id_score_rank() -> None:
    leaf = RarityLeaf(token_id=7, phi_score=950, rank=1)
    encoded = encode(["uint256", "uint16", "uint256"], [7, 950, 1])
    assert leaf.encode() == encoded
    assert leaf.hash() == keccak(keccak(encoded))


def test_pairs_hash_in_sorted_order() -> None:
    a, b = keccak(b"a"), keccak(b"b")
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(min(a, b) + max(a, b))


def test_two_leaf_tree_root_is_the_sorted_pair_hash() -> None:
    leaves = [RarityLeaf(1, 500, 2), RarityLeaf(2, 900, 1)]
    tree = MerkleTree(leaves)
    assert tree.root == hash_pair(leaves[0].hash(), leaves[1].hash())
    assert tree.proof(1) == [leaves[1].hash()]
    assert tree.proof(2) == [leaves[0].hash()]


def test_single_leaf_tree_has_an_empty_proof_and_the_leaf_as_root() -> None:
    leaf = RarityLeaf(3, 300, 1)
    tree = MerkleTree([leaf])
    assert tree.root == leaf.hash()
    assert tree.proof(3) == []
    assert verify([], tree.root, leaf)


def test_ranking_orders_by_score_then_older_token_and_has_no_gaps() -> None:
    ranked = rank_scores({5: 700, 2: 900, 9: 700, 1: 200})
    assert [(leaf.token_id, leaf.rank) for leaf in ranked] == [(2, 1), (5, 2), (9, 3), (1, 4)]


def test_tree_refuses_empty_input_duplicates_and_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(ValueError):
        MerkleTree([RarityLeaf(1, 500, 1), RarityLeaf(1, 600, 2)])
    with pytest.raises(ValueError):
        RarityLeaf(1, 70_000, 1)
    with pytest.raises(ValueError):
        RarityLeaf(-1, 500, 1)
    with pytest.raises(KeyError):
        MerkleTree([RarityLeaf(1, 500, 1)]).proof(2)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(1, 10**6), st.integers(200, 1000), min_size=1, max_size=40))
def test_every_leaf_proves_and_a_tampered_leaf_or_proof_does_not(scores: dict[int, int]) -> None:
    leaves = rank_scores(scores)
    tree = MerkleTree(leaves)
    for leaf in leaves:
        proof = tree.proof(leaf.token_id)
        assert process_proof(leaf.hash(), proof) == tree.root
        # A different score or rank for the same token never verifies.
        assert not verify(
            proof, tree.root, RarityLeaf(leaf.token_id, leaf.phi_score + 1, leaf.rank)
        )
        assert not verify(
            proof, tree.root, RarityLeaf(leaf.token_id, leaf.phi_score, leaf.rank + 1)
        )
        if proof:
            bad = [bytes(32), *proof[1:]]
            assert not verify(bad, tree.root, leaf)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.integers(0, 2**256 - 1), st.integers(0, 2**16 - 1), min_size=1, max_size=70)
)
def test_tree_from_scores_equals_the_tree_over_ranked_leaves(scores: dict[int, int]) -> None:
    fast = MerkleTree.from_scores(scores)
    reference = MerkleTree(rank_scores(scores))
    assert fast.root == reference.root
    assert fast.leaves == reference.leaves
    for token_id in scores:
        assert fast.proof(token_id) == reference.proof(token_id)


def test_root_is_the_same_as_a_tree_hashed_with_eth_hash_by_the_textbook_layout() -> None:
    """An independent build (eth-hash keccak, leaves sorted, node i = hash(2i+1, 2i+2))."""
    scores = {token_id: 200 + (token_id * 37) % 800 for token_id in range(1, 1001)}
    leaves = rank_scores(scores)
    hashes = sorted(keccak(keccak(encode(["uint256", "uint16", "uint256"], [
        leaf.token_id, leaf.phi_score, leaf.rank]))) for leaf in leaves)  # fmt: skip
    nodes = [b""] * (2 * len(hashes) - 1)
    for i, digest in enumerate(hashes):
        nodes[len(nodes) - 1 - i] = digest
    for i in range(len(hashes) - 2, -1, -1):
        a, b = sorted((nodes[2 * i + 1], nodes[2 * i + 2]))
        nodes[i] = keccak(a + b)
    assert MerkleTree.from_scores(scores).root == nodes[0]


def test_proof_indices_walk_siblings_up_to_the_root() -> None:
    assert proof_indices(0) == []
    assert proof_indices(1) == [2]
    assert proof_indices(2) == [1]
    assert proof_indices(10) == [9, 3, 2]  # 10 -> parent 4 (sibling 3) -> parent 1 (sibling 2)
    tree = MerkleTree.from_scores({1: 500, 2: 600, 3: 700, 4: 800, 5: 900})
    for token_id in range(1, 6):
        index = tree.leaf_indices[tree.token_ids.index(token_id)]
        assert [tree.nodes[i] for i in proof_indices(index)] == tree.proof(token_id)


def test_from_scores_refuses_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        MerkleTree.from_scores({})
    with pytest.raises(ValueError):
        MerkleTree.from_scores({1: 70_000})
    with pytest.raises(ValueError):
        MerkleTree.from_scores({-1: 500})
