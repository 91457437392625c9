"""Snapshot trees and jobs in the store, on SQLite and PostgreSQL: proofs read from the stored
nodes equal the tree's, saving a root twice stores it once, ranks come per token, and a job
write by a process that lost the job changes nothing; one active job per chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sphinxctl.rarity.merkle import MerkleTree, RarityLeaf, verify
from sphinxctl.store import Store
from tests.support.postgres_server import postgres_server  # noqa: F401
from tests.support.store_backends import store, store_url  # noqa: F401

pytestmark = pytest.mark.integration
LEASE = datetime.now(UTC) + timedelta(seconds=60)


def test_proofs_read_from_stored_nodes_are_the_trees_and_verify(store: Store) -> None:  # noqa: F811
    scores = {token_id: 200 + (token_id * 7919) % 800 for token_id in range(1, 38)}
    tree = MerkleTree.from_scores(scores)
    saved = store.snapshots.save_tree("ethereum", tree, created_by="op")
    assert saved.root == "0x" + tree.root.hex() and saved.leaf_count == 37
    for token_id in scores:
        found = store.get_snapshot_proof("ethereum", token_id, root=saved.root)
        assert found is not None and found.snapshot_id == saved.id
        proof = [bytes.fromhex(p[2:]) for p in found.leaf.proof]
        assert proof == tree.proof(token_id)
        leaf = RarityLeaf(token_id, found.leaf.phi_score, found.leaf.rank)
        assert verify(proof, tree.root, leaf)
    assert store.get_snapshot_proof("ethereum", 99, root=saved.root) is None

    again = store.snapshots.save_tree("ethereum", tree, created_by="someone-else")
    assert again.id == saved.id and again.created_by == "op"
    assert store.status().tables["rarity_nodes"] == 2 * 37 - 1

    assert store.snapshots.ranks("ethereum", [1, 2, 99], published_only=False) == {
        t: tree.ranks[tree.token_ids.index(t)] for t in (1, 2)
    }
    assert store.snapshots.ranks("ethereum", [1], published_only=True) == {}  # not published
    store.mark_snapshot_published("ethereum", saved.root, "0x" + "ab" * 32)
    assert set(store.snapshots.ranks("ethereum", [1, 2], published_only=True)) == {1, 2}


def test_a_job_write_from_a_process_that_lost_the_job_changes_nothing(
    store: Store,  # noqa: F811
) -> None:
    jobs = store.snapshots
    job = jobs.create_job(
        "polygon", publish=True, actor="op", role="operator", owner="a", lease_until=LEASE
    )
    assert job is not None
    assert jobs.active_job("polygon") == job and jobs.active_job("ethereum") is None
    twin = jobs.create_job(
        "polygon", publish=True, actor="op", role="operator", owner="z", lease_until=LEASE
    )
    assert twin is None  # one active job per chain, whoever asks
    assert jobs.update_job(job.id, "a", phase="reading", done=10)
    assert jobs.take_over(job.id, previous_owner="a", owner="b", lease_until=LEASE)
    assert not jobs.take_over(job.id, previous_owner="a", owner="c", lease_until=LEASE)
    assert not jobs.update_job(job.id, "a", done=999)  # the old owner is ignored
    assert jobs.update_job(job.id, "b", publish_tx="0x" + "cd" * 32, error={"error": "x"})
    current = jobs.get_job(job.id)
    assert current is not None
    assert (current.owner, current.done, current.attempts) == ("b", 10, 2)
    assert current.error == {"error": "x"} and current.publish_tx == "0x" + "cd" * 32
    assert jobs.update_job(job.id, "b", status="succeeded")
    assert jobs.active_job("polygon") is None
    after = jobs.create_job(
        "polygon", publish=False, actor="op", role="operator", owner="z", lease_until=LEASE
    )
    assert after is not None and jobs.active_job("polygon") == after
    assert jobs.get_job("f" * 32) is None
