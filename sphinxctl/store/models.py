"""Pydantic models the store returns (and takes) across package boundaries."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Backend = Literal["postgresql", "sqlite"]
TxStatus = Literal["pending", "confirmed", "failed", "dropped", "replaced"]
FINAL_TX_STATUSES: tuple[str, ...] = ("confirmed", "failed", "dropped", "replaced")

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _hex32(value: str) -> str:
    if not _HEX32.match(value):
        raise ValueError("must be a 0x-prefixed 32-byte hex string")
    return value.lower()


class AuditEvent(BaseModel):
    """One row of the hash-chained audit trail (params already redacted)."""

    seq: int
    occurred_at: datetime
    actor: str
    role: str
    action: str
    target: str
    params: dict[str, Any]
    result: str
    prev_hash: str
    hash: str


class AuditList(BaseModel):
    events: list[AuditEvent]


class BrokenRow(BaseModel):
    """The first row where the chain does not hold, and why."""

    seq: int
    reason: str
    expected: str | None = None
    found: str | None = None


class VerifyResult(BaseModel):
    """Outcome of walking the whole audit chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken: BrokenRow | None = None


class SnapshotLeaf(BaseModel):
    """One token's leaf in a rarity snapshot: the (token id, phi score, rank) the contract
    verifies, its leaf hash and its Merkle proof (sibling hashes, leaf to root)."""

    token_id: int = Field(ge=0, lt=2**256)
    phi_score: int = Field(ge=0, lt=2**16)
    rank: int = Field(ge=0, lt=2**63)
    leaf_hash: str
    proof: list[str] = Field(default_factory=list)

    @field_validator("leaf_hash")
    @classmethod
    def _leaf(cls, value: str) -> str:
        return _hex32(value)

    @field_validator("proof")
    @classmethod
    def _proof(cls, value: list[str]) -> list[str]:
        return [_hex32(v) for v in value]


class RaritySnapshot(BaseModel):
    """A saved rarity snapshot; `leaves` is empty when only the summary was asked for."""

    id: int
    chain: str
    root: str
    leaf_count: int
    created_at: datetime
    created_by: str | None = None
    published_tx: str | None = None
    published_at: datetime | None = None
    leaves: list[SnapshotLeaf] = Field(default_factory=list)


class SnapshotProof(BaseModel):
    """One token's leaf and proof, with the snapshot (root) it belongs to."""

    chain: str
    root: str
    snapshot_id: int
    published_tx: str | None = None
    leaf: SnapshotLeaf


class TransactionRecord(BaseModel):
    """A transaction the platform sent, as recorded."""

    id: int
    chain: str
    tx_hash: str
    kind: str
    status: TxStatus
    value_wei: int
    value: float = Field(description="value in whole native tokens")
    actor: str | None = None
    block_number: int | None = None
    created_at: datetime
    updated_at: datetime


class TxCount(BaseModel):
    chain: str
    kind: str
    status: str
    count: int


class TxValueHistogram(BaseModel):
    """Cumulative bucket counts of transaction value (whole tokens) for one (chain, kind)."""

    chain: str
    kind: str
    buckets: list[tuple[float, int]] = Field(description="(upper bound, cumulative count)")
    count: int
    sum: float


class TransactionStats(BaseModel):
    """What sphinxos_transactions_total / _transaction_value / _pending_transactions report,
    computed from the database so every replica reports the same numbers."""

    counts: list[TxCount]
    pending: dict[str, int]
    values: list[TxValueHistogram]
    max_id: int


class MigrationResult(BaseModel):
    backend: Backend
    location: str
    from_revision: str | None
    to_revision: str | None
    applied: bool


class DbStatus(BaseModel):
    backend: Backend
    location: str
    reachable: bool
    current_revision: str | None
    head_revision: str | None
    up_to_date: bool
    tables: dict[str, int] = Field(default_factory=dict)
    audit_head_seq: int | None = None


class PingResult(BaseModel):
    backend: Backend
    latency_ms: float


class Readiness(BaseModel):
    """For /health/ready: never raises; `ok` false names the cause in `detail`."""

    ok: bool
    backend: Backend
    reachable: bool
    migrated: bool
    latency_ms: float | None = None
    detail: str | None = None


class BackupResult(BaseModel):
    backend: Backend
    path: Path
    bytes: int
    sha256: str
    created_at: datetime
    tables: dict[str, int]


class RestoreResult(BaseModel):
    backend: Backend
    path: Path
    forced: bool
    rows_before: int
    tables: dict[str, int]
