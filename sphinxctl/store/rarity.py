"""Rarity snapshots and their leaves, so every API replica serves the same proofs for a root.

Two layouts: `save` keeps each leaf's proof (small snapshots, 0001); `save_tree` keeps the
flat Merkle node array in rarity_nodes and each leaf's node index, and a proof is then read as
the ~log2(n) sibling nodes of that index (one indexed query).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from sphinxctl.errors import StoreError
from sphinxctl.store.models import RaritySnapshot, SnapshotLeaf, SnapshotProof
from sphinxctl.store.schema import rarity_leaves, rarity_nodes, rarity_snapshots

if TYPE_CHECKING:
    from sphinxctl.rarity.merkle import MerkleTree

_CHAIN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")


def check_chain(chain: str) -> str:
    if not isinstance(chain, str) or not _CHAIN.match(chain):
        raise StoreError(f"invalid chain name {chain!r}")
    return chain


def check_hash(value: str, what: str) -> str:
    lowered = value.lower() if isinstance(value, str) else ""
    if not _HEX32.match(lowered):
        raise StoreError(f"invalid {what} {value!r}: expected 0x followed by 64 hex digits")
    return lowered


def _summary(row: Row[Any]) -> RaritySnapshot:
    return RaritySnapshot(
        id=row.id,
        chain=row.chain,
        root=row.root,
        leaf_count=row.leaf_count,
        created_at=row.created_at,
        created_by=row.created_by,
        published_tx=row.published_tx,
        published_at=row.published_at,
    )


def _leaf(row: Row[Any]) -> SnapshotLeaf:
    return SnapshotLeaf(
        token_id=int(row.token_id),
        phi_score=row.phi_score,
        rank=row.rank,
        leaf_hash=row.leaf_hash,
        proof=json.loads(row.proof),
    )


def _node_proof(conn: Connection, snapshot_id: int, node_index: int) -> list[str]:
    """The sibling hashes of node `node_index`, leaf to root (O(log n) rows by primary key)."""
    from sphinxctl.rarity.merkle import proof_indices

    wanted = proof_indices(node_index)
    if not wanted:
        return []
    rows = conn.execute(
        select(rarity_nodes.c.position, rarity_nodes.c.hash).where(
            rarity_nodes.c.snapshot_id == snapshot_id, rarity_nodes.c.position.in_(wanted)
        )
    )
    found = {int(r.position): bytes(r.hash) for r in rows}
    if len(found) != len(wanted):
        raise StoreError(f"rarity snapshot {snapshot_id} is missing Merkle nodes")
    return ["0x" + found[i].hex() for i in wanted]


def _leaves(conn: Connection, snapshot_id: int) -> list[SnapshotLeaf]:
    rows = conn.execute(
        select(rarity_leaves)
        .where(rarity_leaves.c.snapshot_id == snapshot_id)
        .order_by(rarity_leaves.c.position)
    )
    return [_leaf(r) for r in rows]


def _find(conn: Connection, chain: str, root: str | None, published_only: bool) -> Row[Any] | None:
    query = select(rarity_snapshots).where(rarity_snapshots.c.chain == chain)
    if root is not None:
        query = query.where(rarity_snapshots.c.root == check_hash(root, "root"))
    if published_only:
        query = query.where(rarity_snapshots.c.published_tx.is_not(None)).order_by(
            rarity_snapshots.c.published_at.desc(), rarity_snapshots.c.id.desc()
        )
    else:
        query = query.order_by(rarity_snapshots.c.id.desc())
    return conn.execute(query.limit(1)).one_or_none()


def save(
    conn: Connection,
    *,
    chain: str,
    root: str,
    leaves: Sequence[SnapshotLeaf],
    created_by: str | None,
) -> RaritySnapshot:
    """Insert a snapshot with its leaves; saving the same one again returns the stored one.

    A different set of leaves under an already-stored (chain, root) is refused.
    """
    chain, root = check_chain(chain), check_hash(root, "root")
    leaves = [SnapshotLeaf.model_validate(leaf) for leaf in leaves]
    if not leaves:
        raise StoreError("a rarity snapshot needs at least one leaf")
    if len({leaf.token_id for leaf in leaves}) != len(leaves):
        raise StoreError("a rarity snapshot lists a token id more than once")
    existing = _find(conn, chain, root, published_only=False)
    if existing is not None:
        if _leaves(conn, existing.id) != leaves:
            raise StoreError(
                f"a different rarity snapshot with root {root} is already stored for {chain}",
                reference="store-conflict",
            )
        return _summary(existing)
    snapshot_id = _insert_snapshot(conn, chain, root, len(leaves), created_by)
    _insert_leaves(
        conn,
        snapshot_id,
        (
            (leaf.token_id, leaf.phi_score, leaf.rank, leaf.leaf_hash, json.dumps(leaf.proof), None)
            for leaf in leaves
        ),
    )
    return _by_id(conn, snapshot_id)


def get(
    conn: Connection,
    *,
    chain: str,
    root: str | None,
    published_only: bool,
    with_leaves: bool,
) -> RaritySnapshot | None:
    row = _find(conn, check_chain(chain), root, published_only)
    if row is None:
        return None
    snapshot = _summary(row)
    if with_leaves:
        snapshot.leaves = _leaves(conn, row.id)
    return snapshot


def get_proof(
    conn: Connection, *, chain: str, token_id: int, root: str | None, published_only: bool
) -> SnapshotProof | None:
    """One token's leaf and proof in the given (or the latest) snapshot of a chain."""
    row = _find(conn, check_chain(chain), root, published_only)
    if row is None:
        return None
    leaf = conn.execute(
        select(rarity_leaves).where(
            rarity_leaves.c.snapshot_id == row.id, rarity_leaves.c.token_id == str(token_id)
        )
    ).one_or_none()
    if leaf is None:
        return None
    found = _leaf(leaf)
    if leaf.node_index is not None:
        found.proof = _node_proof(conn, row.id, int(leaf.node_index))
    return SnapshotProof(
        chain=row.chain,
        root=row.root,
        snapshot_id=row.id,
        published_tx=row.published_tx,
        leaf=found,
    )


def _insert_snapshot(
    conn: Connection, chain: str, root: str, leaf_count: int, created_by: str | None
) -> int:
    """The snapshot row (leaves and nodes are inserted by the caller); its id."""
    return int(
        conn.execute(
            insert(rarity_snapshots)
            .values(
                chain=chain,
                root=root,
                leaf_count=leaf_count,
                created_at=datetime.now(UTC),
                created_by=created_by,
            )
            .returning(rarity_snapshots.c.id)
        ).scalar_one()
    )


# token id, phi score, rank, leaf hash, proof (JSON; "[]" when read from the nodes), node index
LeafRow = tuple[int, int, int, str, str, int | None]


def _insert_leaves(conn: Connection, snapshot_id: int, rows: Iterable[LeafRow]) -> None:
    """A snapshot's leaves, in order (their position is their index in `rows`)."""
    conn.execute(
        insert(rarity_leaves),
        [
            {
                "snapshot_id": snapshot_id,
                "position": i,
                "token_id": str(token_id),
                "phi_score": score,
                "rank": rank,
                "leaf_hash": leaf_hash,
                "proof": proof,
                "node_index": node,
            }
            for i, (token_id, score, rank, leaf_hash, proof, node) in enumerate(rows)
        ],
    )


def _by_id(conn: Connection, snapshot_id: int) -> RaritySnapshot:
    row = conn.execute(select(rarity_snapshots).where(rarity_snapshots.c.id == snapshot_id)).one()
    return _summary(row)


def save_tree(
    conn: Connection, *, chain: str, tree: MerkleTree, created_by: str | None
) -> RaritySnapshot:
    """Insert a snapshot as its leaves (with node indices) and its Merkle nodes; saving the
    same root again returns the stored snapshot (the root commits to every leaf)."""
    chain, root = check_chain(chain), "0x" + tree.root.hex()
    existing = _find(conn, chain, root, published_only=False)
    if existing is not None:
        return _summary(existing)
    snapshot_id = _insert_snapshot(conn, chain, root, len(tree), created_by)
    columns = (tree.token_ids, tree.scores, tree.ranks, tree.leaf_hashes, tree.leaf_indices)
    _insert_leaves(
        conn,
        snapshot_id,
        (
            (token_id, score, rank, "0x" + digest.hex(), "[]", node)
            for token_id, score, rank, digest, node in zip(*columns, strict=True)
        ),
    )
    conn.execute(
        insert(rarity_nodes),
        [
            {"snapshot_id": snapshot_id, "position": i, "hash": node}
            for i, node in enumerate(tree.nodes)
        ],
    )
    return _by_id(conn, snapshot_id)


def ranks(
    conn: Connection, *, chain: str, token_ids: Sequence[int], published_only: bool
) -> dict[int, int]:
    """token id -> rank in the latest (published) snapshot, for the given tokens only."""
    row = _find(conn, check_chain(chain), None, published_only)
    if row is None or not token_ids:
        return {}
    rows = conn.execute(
        select(rarity_leaves.c.token_id, rarity_leaves.c.rank).where(
            rarity_leaves.c.snapshot_id == row.id,
            rarity_leaves.c.token_id.in_([str(t) for t in token_ids]),
        )
    )
    return {int(r.token_id): int(r.rank) for r in rows}


def mark_published(conn: Connection, *, chain: str, root: str, tx_hash: str) -> RaritySnapshot:
    """Record the transaction that published the root on chain (setRarityRoot)."""
    row = _find(conn, check_chain(chain), root, published_only=False)
    if row is None:
        raise StoreError(
            f"no rarity snapshot with root {root} for {chain}", reference="store-not-found"
        )
    conn.execute(
        update(rarity_snapshots)
        .where(rarity_snapshots.c.id == row.id)
        .values(
            published_tx=check_hash(tx_hash, "transaction hash"), published_at=datetime.now(UTC)
        )
    )
    return _by_id(conn, row.id)
