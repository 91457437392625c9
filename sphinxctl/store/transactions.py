"""Transactions the platform sends: record, move to a final status, and count for metrics."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from sphinxctl.errors import StoreError
from sphinxctl.store.models import (
    FINAL_TX_STATUSES,
    TransactionRecord,
    TransactionStats,
    TxCount,
    TxValueHistogram,
)
from sphinxctl.store.rarity import check_chain, check_hash
from sphinxctl.store.schema import transactions

STATUSES = ("pending", *FINAL_TX_STATUSES)
# The buckets of sphinxos_transaction_value (whole native tokens).
VALUE_BUCKETS: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _record(row: Row[Any]) -> TransactionRecord:
    return TransactionRecord(
        id=row.id,
        chain=row.chain,
        tx_hash=row.tx_hash,
        kind=row.kind,
        status=row.status,
        value_wei=int(row.value_wei),
        value=row.value,
        actor=row.actor,
        block_number=row.block_number,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _status(status: str) -> str:
    if status not in STATUSES:
        raise StoreError(f"invalid transaction status {status!r} (one of {', '.join(STATUSES)})")
    return status


def _find(conn: Connection, chain: str, tx_hash: str) -> Row[Any] | None:
    return conn.execute(
        select(transactions).where(transactions.c.chain == chain, transactions.c.tx_hash == tx_hash)
    ).one_or_none()


def record(
    conn: Connection,
    *,
    chain: str,
    tx_hash: str,
    kind: str,
    value_wei: int,
    decimals: int,
    status: str,
    actor: str | None,
) -> TransactionRecord:
    """Insert a sent transaction; recording the same (chain, hash, kind) again is a no-op."""
    chain, tx_hash, status = (
        check_chain(chain),
        check_hash(tx_hash, "transaction hash"),
        _status(status),
    )
    if not _KIND.match(kind):
        raise StoreError(f"invalid transaction kind {kind!r} (lowercase snake_case)")
    if not 0 <= value_wei < 2**256:
        raise StoreError("transaction value must be between 0 and 2**256 - 1 wei")
    existing = _find(conn, chain, tx_hash)
    if existing is not None:
        if existing.kind != kind:
            raise StoreError(
                f"transaction {tx_hash} on {chain} is already recorded as {existing.kind!r}",
                reference="store-conflict",
            )
        return _record(existing)
    now = datetime.now(UTC)
    value = float(Decimal(value_wei) / (Decimal(10) ** decimals))
    new_id = conn.execute(
        insert(transactions)
        .values(
            chain=chain,
            tx_hash=tx_hash,
            kind=kind,
            status=status,
            value_wei=str(value_wei),
            value=value,
            actor=actor,
            created_at=now,
            updated_at=now,
        )
        .returning(transactions.c.id)
    ).scalar_one()
    return _record(conn.execute(select(transactions).where(transactions.c.id == new_id)).one())


def update_status(
    conn: Connection, *, chain: str, tx_hash: str, status: str, block_number: int | None
) -> TransactionRecord:
    """Move a transaction to `status`. A final status never changes to a different one."""
    chain, tx_hash, status = (
        check_chain(chain),
        check_hash(tx_hash, "transaction hash"),
        _status(status),
    )
    row = _find(conn, chain, tx_hash)
    if row is None:
        raise StoreError(
            f"no transaction {tx_hash} recorded on {chain}", reference="store-not-found"
        )
    if row.status == status and (block_number is None or row.block_number == block_number):
        return _record(row)
    if row.status in FINAL_TX_STATUSES and row.status != status:
        raise StoreError(
            f"transaction {tx_hash} on {chain} is already {row.status}; it cannot become {status}",
            reference="store-conflict",
        )
    values: dict[str, Any] = {"status": status, "updated_at": datetime.now(UTC)}
    if block_number is not None:
        values["block_number"] = block_number
    conn.execute(update(transactions).where(transactions.c.id == row.id).values(**values))
    return _record(conn.execute(select(transactions).where(transactions.c.id == row.id)).one())


def get(conn: Connection, *, chain: str, tx_hash: str) -> TransactionRecord | None:
    row = _find(conn, check_chain(chain), check_hash(tx_hash, "transaction hash"))
    return None if row is None else _record(row)


def list_records(
    conn: Connection,
    *,
    chain: str | None,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[TransactionRecord]:
    """In id order: the latest `limit` matching, or the first `limit` after `after_id`."""
    if not 1 <= limit <= 10_000:
        raise StoreError("limit must be between 1 and 10000")
    query = select(transactions)
    if chain is not None:
        query = query.where(transactions.c.chain == check_chain(chain))
    if status is not None:
        query = query.where(transactions.c.status == _status(status))
    if after_id is not None:
        query = query.where(transactions.c.id > after_id).order_by(transactions.c.id)
        return [_record(r) for r in conn.execute(query.limit(limit))]
    rows = conn.execute(query.order_by(transactions.c.id.desc()).limit(limit)).all()
    return [_record(r) for r in reversed(rows)]


def stats(conn: Connection, buckets: Sequence[float] = VALUE_BUCKETS) -> TransactionStats:
    """Counts by (chain, kind, status), pending per chain and value histograms, in 3 queries."""
    t = transactions
    counts = [
        TxCount(chain=r.chain, kind=r.kind, status=r.status, count=r.n)
        for r in conn.execute(
            select(t.c.chain, t.c.kind, t.c.status, func.count().label("n"))
            .group_by(t.c.chain, t.c.kind, t.c.status)
            .order_by(t.c.chain, t.c.kind, t.c.status)
        )
    ]
    pending: dict[str, int] = {}
    for c in counts:
        if c.status == "pending":
            pending[c.chain] = pending.get(c.chain, 0) + c.count
    bounds = sorted(float(b) for b in buckets)
    columns = [
        func.sum(case((t.c.value <= b, 1), else_=0)).label(f"b{i}") for i, b in enumerate(bounds)
    ]
    values = []
    for r in conn.execute(
        select(
            t.c.chain,
            t.c.kind,
            func.count().label("n"),
            func.coalesce(func.sum(t.c.value), 0.0).label("total"),
            *columns,
        )
        .group_by(t.c.chain, t.c.kind)
        .order_by(t.c.chain, t.c.kind)
    ):
        values.append(
            TxValueHistogram(
                chain=r.chain,
                kind=r.kind,
                count=r.n,
                sum=float(r.total),
                buckets=[(b, int(getattr(r, f"b{i}") or 0)) for i, b in enumerate(bounds)],
            )
        )
    max_id = conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()
    return TransactionStats(counts=counts, pending=pending, values=values, max_id=int(max_id))
