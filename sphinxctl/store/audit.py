"""The hash-chained audit trail: append under the chain-head lock, list, verify.

Every function takes an open SQLAlchemy connection inside a transaction; the Store owns
transactions, locking mode and error translation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row

from sphinxctl.errors import StoreError
from sphinxctl.store.canonical import GENESIS_HASH, canonical_json, redact, row_hash
from sphinxctl.store.models import AuditEvent, BrokenRow, VerifyResult
from sphinxctl.store.schema import audit_chain_head, audit_events

# Statements built once (compiled-statement cache hits; values travel as parameters).
# FOR UPDATE on PostgreSQL; on SQLite the transaction already began IMMEDIATE (write lock).
_LOCK_HEAD = (
    select(audit_chain_head.c.seq, audit_chain_head.c.hash)
    .where(audit_chain_head.c.id == 1)
    .with_for_update()
)
_INSERT_EVENT = insert(audit_events)
_MOVE_HEAD = (
    update(audit_chain_head)
    .where(audit_chain_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_LIMITS = {"actor": 200, "role": 64, "action": 100, "target": 300, "result": 2000}


def _check_text(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"audit event {field} must be a non-empty string")
    if len(value) > _LIMITS[field]:
        raise StoreError(f"audit event {field} is longer than {_LIMITS[field]} characters")
    return value


def append(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    target: str,
    params: Mapping[str, Any] | None,
    result: str,
) -> AuditEvent:
    """Append one event after the current chain head (which this transaction locks)."""
    fields = {
        "actor": _check_text("actor", actor),
        "role": _check_text("role", role),
        "action": _check_text("action", action),
        "target": _check_text("target", target),
        "result": _check_text("result", result),
    }
    if params is not None and not isinstance(params, Mapping):
        raise StoreError("audit event params must be a mapping of names to values")
    try:
        params_json = canonical_json(redact(dict(params or {})))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"audit event params are not JSON-serialisable: {exc}") from None

    head = conn.execute(_LOCK_HEAD).one_or_none()
    if head is None:
        raise StoreError(
            "the audit chain head row is missing",
            hint="Run `sphinxctl db migrate`; if it is migrated, restore from a backup.",
            reference="store-not-migrated",
        )
    seq = int(head.seq) + 1
    occurred_at = datetime.now(UTC)  # taken under the lock: time order follows seq order
    digest = row_hash(
        seq=seq, occurred_at=occurred_at, params_json=params_json, prev_hash=head.hash, **fields
    )
    conn.execute(
        _INSERT_EVENT,
        {"seq": seq, "occurred_at": occurred_at, "params": params_json,
         "prev_hash": head.hash, "hash": digest, **fields},
    )  # fmt: skip
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    return AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        params=json.loads(params_json),
        prev_hash=head.hash,
        hash=digest,
        **fields,
    )


def _event(row: Row[Any]) -> AuditEvent:
    try:
        params = json.loads(row.params)
    except ValueError:
        params = {"_unparseable": row.params}
    if not isinstance(params, dict):
        params = {"_value": params}
    return AuditEvent(
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor=row.actor,
        role=row.role,
        action=row.action,
        target=row.target,
        params=params,
        result=row.result,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def list_events(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Matching events in seq order: the latest `limit` ones, or the first `limit` after
    `after_seq` when paging forward."""
    if not 1 <= limit <= 10_000:
        raise StoreError("limit must be between 1 and 10000")
    query = select(audit_events)
    if since is not None:
        query = query.where(audit_events.c.occurred_at >= since)
    if until is not None:
        query = query.where(audit_events.c.occurred_at < until)
    if actor is not None:
        query = query.where(audit_events.c.actor == actor)
    if action is not None:
        query = query.where(audit_events.c.action == action)
    if after_seq is not None:
        query = query.where(audit_events.c.seq > after_seq).order_by(audit_events.c.seq)
        return [_event(r) for r in conn.execute(query.limit(limit))]
    rows = conn.execute(query.order_by(audit_events.c.seq.desc()).limit(limit)).all()
    return [_event(r) for r in reversed(rows)]


def verify(conn: Connection, *, batch: int = 1000) -> VerifyResult:
    """Walk the chain from the first row; report the first row whose link or hash fails."""
    head = conn.execute(
        select(audit_chain_head.c.seq, audit_chain_head.c.hash).where(audit_chain_head.c.id == 1)
    ).one_or_none()
    if head is None:
        broken = BrokenRow(seq=0, reason="the chain head row is missing")
        return VerifyResult(ok=False, checked=0, head_seq=0, head_hash="", broken=broken)
    head_seq, head_hash = int(head.seq), str(head.hash)

    def fail(checked: int, broken: BrokenRow) -> VerifyResult:
        return VerifyResult(
            ok=False, checked=checked, head_seq=head_seq, head_hash=head_hash, broken=broken
        )

    prev_hash, expected, checked = GENESIS_HASH, 1, 0
    result = conn.execution_options(yield_per=batch).execute(
        select(audit_events).order_by(audit_events.c.seq)
    )
    try:
        for row in result:
            seq = int(row.seq)
            if seq != expected:
                reason = (
                    f"row seq={expected} is missing (the chain jumps from {expected - 1} to {seq})"
                    if seq > expected
                    else f"row seq={seq} is out of order"
                )
                return fail(checked, BrokenRow(seq=expected, reason=reason))
            if seq > head_seq:
                return fail(
                    checked,
                    BrokenRow(
                        seq=seq,
                        reason=f"row seq={seq} lies beyond the chain head (seq {head_seq}): "
                        "it was inserted outside the store",
                    ),
                )
            if row.prev_hash != prev_hash:
                return fail(
                    checked,
                    BrokenRow(
                        seq=seq,
                        expected=prev_hash,
                        found=row.prev_hash,
                        reason=f"row seq={seq} does not link to row seq={seq - 1} (prev_hash "
                        "differs from that row's hash: one of the two was altered)",
                    ),
                )
            recomputed = row_hash(
                seq=seq,
                occurred_at=row.occurred_at,
                actor=row.actor,
                role=row.role,
                action=row.action,
                target=row.target,
                params_json=row.params,
                result=row.result,
                prev_hash=row.prev_hash,
            )
            if recomputed != row.hash:
                return fail(
                    checked,
                    BrokenRow(
                        seq=seq,
                        expected=recomputed,
                        found=row.hash,
                        reason=f"row seq={seq} was altered: its contents do not match its hash",
                    ),
                )
            prev_hash, expected, checked = row.hash, expected + 1, checked + 1
    finally:
        result.close()
    if checked < head_seq:
        return fail(
            checked,
            BrokenRow(
                seq=checked + 1,
                reason=f"rows seq={checked + 1}..{head_seq} are missing "
                f"(the chain head records seq {head_seq})",
            ),
        )
    if prev_hash != head_hash:
        return fail(
            checked,
            BrokenRow(
                seq=head_seq,
                expected=head_hash,
                found=prev_hash,
                reason="the chain head's hash does not match the last row",
            ),
        )
    return VerifyResult(ok=True, checked=checked, head_seq=head_seq, head_hash=head_hash)
