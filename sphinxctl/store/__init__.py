"""Persistence: the hash-chained audit trail, rarity snapshots and sent transactions.

PostgreSQL (psycopg 3) when `database.url` / DATABASE_URL is set, else a SQLite file at
`database.sqlite_path` (relative to the project root). Schema by Alembic migrations shipped in
`sphinxctl/store/migrations/`. One `Store` per process; it is thread-safe (a pooled engine).
Every method raises `StoreUnavailable` (a `StoreError` with `unavailable = True`: answer 503)
when the database cannot be reached, and a plain `StoreError` for other failures (for example
`reference == "store-not-migrated"`). Nothing here prints or reads os.environ.

API (all models are pydantic, in sphinxctl.store.models)::

    store = Store.from_settings(settings, project_root)   # Settings or DatabaseSettings
    store.migrate() -> MigrationResult                    # idempotent; replicas may race it
    store.ping() -> PingResult                            # raises StoreUnavailable
    store.readiness() -> Readiness                        # never raises: for /health/ready
    store.status() -> DbStatus                            # revision, row counts

    # Audit trail: append-only (database triggers refuse UPDATE/DELETE), one hash chain
    # across every process and replica (row lock on the chain head / SQLite BEGIN IMMEDIATE).
    store.append_audit(actor, role, action, target, params=None, result="ok") -> AuditEvent
        # params: a mapping; keys named like secret/password/private_key/token/... and
        # JWT-looking values are stored as "********".
    store.list_audit(since=, until=, actor=, action=, after_seq=, limit=100) -> list[AuditEvent]
    store.verify_audit() -> VerifyResult        # .ok, .broken.seq / .broken.reason
    with audited(store, actor, role, action, target, params) as outcome:   # write-ahead:
        ...                                      # "started" recorded first (or 503), then
                                                 # "ok" / "failed: ..." (sphinxctl.store.actions)

    # Rarity snapshots: every replica serves the same leaves and proofs for a root.
    store.save_snapshot(chain, root, leaves: list[SnapshotLeaf], created_by=None)
    store.get_snapshot(chain, root=None, published_only=False, with_leaves=True)
        -> RaritySnapshot | None                 # root None: the latest one
    store.get_snapshot_proof(chain, token_id, root=None, published_only=False)
        -> SnapshotProof | None
    store.mark_snapshot_published(chain, root, tx_hash) -> RaritySnapshot
    # At collection scale (store/snapshots.py): the tree's nodes instead of per-leaf proofs
    # (get_snapshot_proof reads ~log2(n) nodes), ranks per token, snapshot jobs.
    store.snapshots.save_tree(chain, tree, created_by=None) -> RaritySnapshot
    store.snapshots.ranks(chain, token_ids, published_only=True) -> dict[int, int]
    store.snapshots.create_job(...) / get_job(id) / active_job(chain) / take_over(...) /
        update_job(id, owner, **fields)          # owner compare-and-set: a lost job is not written

    # Transactions the API sends, feeding the transaction metrics from data.
    store.record_transaction(chain, tx_hash, kind, value_wei=0, decimals=18,
                             status="pending", actor=None) -> TransactionRecord
    store.update_transaction_status(chain, tx_hash, status, block_number=None)
    store.get_transaction(chain, tx_hash) / store.list_transactions(chain=, status=, ...)
    store.transaction_stats() -> TransactionStats
    TransactionMetricsSync().sync(store)         # updates sphinxos_transactions_total,
                                                 # _transaction_value, _pending_transactions

    # Backups: pg_dump/pg_restore custom format, or SQLite's online backup API.
    store.backup(path) -> BackupResult
    store.restore(path, force=False) -> RestoreResult   # refuses a non-empty db unless force
    store.close()

The API server wires it like this: one Store built at startup; `readiness()` in
/health/ready (database named as the cause when `ok` is false); route handlers map
`StoreError.unavailable` to 503. Privileged actions run inside `audited(...)`, so an action is
either not performed (database down before it: StoreUnavailable, 503) or performed and recorded
(at least its `started` event) — never performed and unrecorded.
"""

from sphinxctl.errors import AuditChainBroken, StoreError, StoreUnavailable
from sphinxctl.store.actions import AuditOutcome, audited
from sphinxctl.store.metrics_feed import TransactionMetricsSync
from sphinxctl.store.models import (
    AuditEvent,
    AuditList,
    BackupResult,
    BrokenRow,
    DbStatus,
    MigrationResult,
    PingResult,
    RaritySnapshot,
    Readiness,
    RestoreResult,
    SnapshotLeaf,
    SnapshotProof,
    TransactionRecord,
    TransactionStats,
    VerifyResult,
)
from sphinxctl.store.store import Store

__all__ = [
    "AuditChainBroken",
    "AuditEvent",
    "AuditList",
    "AuditOutcome",
    "BackupResult",
    "BrokenRow",
    "DbStatus",
    "MigrationResult",
    "PingResult",
    "RaritySnapshot",
    "Readiness",
    "RestoreResult",
    "SnapshotLeaf",
    "SnapshotProof",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TransactionMetricsSync",
    "TransactionRecord",
    "TransactionStats",
    "VerifyResult",
    "audited",
]
