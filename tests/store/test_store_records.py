"""Rarity snapshots and sent transactions against real SQLite and PostgreSQL: what one process
stores, another serves identically; transaction metrics come from the data."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sphinxctl import metrics
from sphinxctl.errors import StoreError
from sphinxctl.store import SnapshotLeaf, Store, TransactionMetricsSync, audited
from tests.support import postgres_server as _postgres_server
from tests.support import store_backends as _store_backends

# Fixtures shared with other test modules (one PostgreSQL server per session).
postgres_server = _postgres_server.postgres_server
store = _store_backends.store
store_url = _store_backends.store_url

pytestmark = pytest.mark.integration


def _h(n: int) -> str:
    return "0x" + f"{n:064x}"


def _leaves(n: int, salt: int = 0) -> list[SnapshotLeaf]:
    return [
        SnapshotLeaf(
            token_id=2**200 + t if t == n else t,
            phi_score=200 + t * 7,
            rank=n - t + 1,
            leaf_hash=_h(1000 + t + salt),
            proof=[_h(t * 10 + k) for k in range(3)],
        )
        for t in range(1, n + 1)
    ]


def test_a_snapshot_saved_by_one_store_is_served_identically_by_another(
    store: Store, store_url: str
) -> None:
    leaves = _leaves(25)
    saved = store.save_snapshot("ethereum", _h(1), leaves, created_by="operator-1")
    assert saved.leaf_count == 25 and saved.published_tx is None
    with Store.from_url(store_url) as replica:
        got = replica.get_snapshot("ethereum", _h(1))
        assert got is not None and got.leaves == leaves and got.created_by == "operator-1"
        for leaf in (leaves[0], leaves[-1]):  # the last one has a token id beyond 64 bits
            proof = replica.get_snapshot_proof("ethereum", leaf.token_id)
            assert proof is not None and proof.leaf == leaf and proof.root == _h(1)
        assert replica.get_snapshot_proof("ethereum", 999) is None
        assert replica.get_snapshot("polygon") is None


def test_saving_a_snapshot_again_is_idempotent_and_conflicts_are_refused(store: Store) -> None:
    first = store.save_snapshot("ethereum", _h(1), _leaves(3))
    again = store.save_snapshot("ethereum", _h(1).upper().replace("0X", "0x"), _leaves(3))
    assert again.id == first.id
    with pytest.raises(StoreError, match="different rarity snapshot") as caught:
        store.save_snapshot("ethereum", _h(1), _leaves(3, salt=5))
    assert caught.value.reference == "store-conflict"
    with pytest.raises(StoreError, match="more than once"):
        store.save_snapshot("ethereum", _h(2), _leaves(2) + _leaves(2)[:1])
    with pytest.raises(StoreError, match="at least one leaf"):
        store.save_snapshot("ethereum", _h(2), [])
    with pytest.raises(StoreError, match="invalid root"):
        store.save_snapshot("ethereum", "0x1234", _leaves(1))
    assert store.table_counts()["rarity_snapshots"] == 1


def test_replicas_saving_the_same_snapshot_at_once_store_it_once(
    store: Store, store_url: str
) -> None:
    replicas = [Store.from_url(store_url) for _ in range(3)]
    barrier = threading.Barrier(len(replicas))
    ids: list[int] = []
    errors: list[BaseException] = []

    def run(replica: Store) -> None:
        try:
            barrier.wait()
            ids.append(replica.save_snapshot("polygon", _h(9), _leaves(50)).id)
        except BaseException as exc:  # noqa: BLE001 — collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in replicas:
        r.close()
    assert errors == [] and len(set(ids)) == 1
    assert store.table_counts()["rarity_leaves"] == 50


def test_latest_and_published_snapshots(store: Store) -> None:
    store.save_snapshot("ethereum", _h(1), _leaves(2))
    store.save_snapshot("ethereum", _h(2), _leaves(3))
    latest = store.get_snapshot("ethereum", with_leaves=False)
    assert latest is not None and latest.root == _h(2) and latest.leaves == []
    assert store.get_snapshot("ethereum", published_only=True) is None
    published = store.mark_snapshot_published("ethereum", _h(1), _h(77))
    assert published.published_tx == _h(77) and published.published_at is not None
    served = store.get_snapshot("ethereum", published_only=True)
    assert served is not None and served.root == _h(1)
    proof = store.get_snapshot_proof("ethereum", 1, published_only=True)
    assert proof is not None and proof.root == _h(1) and proof.published_tx == _h(77)
    with pytest.raises(StoreError, match="no rarity snapshot"):
        store.mark_snapshot_published("ethereum", _h(3), _h(78))


def test_transactions_record_update_and_final_statuses(store: Store) -> None:
    sent = store.record_transaction(
        "ethereum",
        _h(5).upper().replace("0X", "0x"),
        "mint",
        value_wei=25 * 10**16,
        actor="minter-1",
    )
    assert sent.tx_hash == _h(5) and sent.status == "pending" and sent.value == 0.25
    assert store.record_transaction("ethereum", _h(5), "mint").id == sent.id  # idempotent
    with pytest.raises(StoreError, match="already recorded as 'mint'"):
        store.record_transaction("ethereum", _h(5), "pause")
    done = store.update_transaction_status("ethereum", _h(5), "confirmed", block_number=42)
    assert done.status == "confirmed" and done.block_number == 42
    assert store.update_transaction_status("ethereum", _h(5), "confirmed").status == "confirmed"
    with pytest.raises(StoreError, match="already confirmed"):
        store.update_transaction_status("ethereum", _h(5), "failed")
    with pytest.raises(StoreError, match="no transaction"):
        store.update_transaction_status("ethereum", _h(6), "confirmed")
    with pytest.raises(StoreError, match="invalid transaction status"):
        store.record_transaction("ethereum", _h(6), "mint", status="lost")
    with pytest.raises(StoreError, match="invalid transaction kind"):
        store.record_transaction("ethereum", _h(6), "Mint Now")
    big = store.record_transaction("polygon", _h(6), "vault_deposit", value_wei=2**255)
    assert store.get_transaction("polygon", _h(6)) == big and big.value_wei == 2**255
    assert [t.tx_hash for t in store.list_transactions(status="pending")] == [_h(6)]
    assert [t.tx_hash for t in store.list_transactions(after_id=0, limit=1)] == [_h(5)]


def _sample(name: str, labels: dict[str, str]) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_transaction_metrics_come_from_the_database(store: Store, store_url: str) -> None:
    chain = f"chain-{store.backend}"  # label values unique to this test run's backend
    for n, (kind, wei) in enumerate([("mint", 10**15), ("mint", 2 * 10**18), ("pause", 0)]):
        store.record_transaction(chain, _h(100 + n), kind, value_wei=wei)
    store.update_transaction_status(chain, _h(100), "confirmed")
    store.update_transaction_status(chain, _h(102), "failed")

    stats = store.transaction_stats()
    counts = {(c.kind, c.status): c.count for c in stats.counts if c.chain == chain}
    assert counts == {("mint", "confirmed"): 1, ("mint", "pending"): 1, ("pause", "failed"): 1}
    assert stats.pending[chain] == 1
    mint = next(v for v in stats.values if v.chain == chain and v.kind == "mint")
    assert mint.count == 2 and mint.sum == pytest.approx(2.001)
    assert dict(mint.buckets)[0.001] == 1 and dict(mint.buckets)[10.0] == 2

    labels: dict[str, Any] = {"chain": chain, "kind": "mint"}
    base = {
        "confirmed": _sample("sphinxos_transactions_total", {**labels, "status": "confirmed"}),
        "values": _sample("sphinxos_transaction_value_count", labels),
    }
    with Store.from_url(store_url) as replica:  # another replica reports the same data
        sync = TransactionMetricsSync()
        sync.sync(replica)
        assert _sample("sphinxos_transactions_total", {**labels, "status": "confirmed"}) == (
            base["confirmed"] + 1
        )
        assert _sample("sphinxos_pending_transactions", {"chain": chain}) == 1
        assert _sample("sphinxos_transaction_value_count", labels) == base["values"] + 2

        sync.sync(replica)  # nothing new: nothing added
        assert _sample("sphinxos_transaction_value_count", labels) == base["values"] + 2
        store.update_transaction_status(chain, _h(101), "confirmed")
        sync.sync(replica)
        assert _sample("sphinxos_transactions_total", {**labels, "status": "confirmed"}) == (
            base["confirmed"] + 2
        )
        assert _sample("sphinxos_pending_transactions", {"chain": chain}) == 0


def test_audited_actions_record_start_and_outcome(store: Store) -> None:
    with audited(store, "ops", "admin", "pause", "ethereum/X", {"password": "p"}) as outcome:
        outcome.params["tx_hash"] = _h(3)
    assert outcome.recorded and outcome.finished_seq == outcome.started_seq + 1
    with (
        pytest.raises(StoreError),
        audited(store, "ops", "admin", "unpause", "ethereum/X"),
    ):
        raise StoreError("reverted: already unpaused")
    with pytest.raises(RuntimeError), audited(store, "ops", "admin", "mint", "ethereum/X"):
        raise RuntimeError("with a secret 0xdeadbeef in the message")
    events = store.list_audit()
    assert [(e.action, e.result) for e in events] == [
        ("pause", "started"),
        ("pause", "ok"),
        ("unpause", "started"),
        ("unpause", "failed: StoreError: reverted: already unpaused"),
        ("mint", "started"),
        ("mint", "failed: RuntimeError"),
    ]
    assert events[0].params == {"password": "********"}
    assert events[1].params == {"tx_hash": _h(3), "started_seq": 1}
    assert store.verify_audit().ok
