"""Table definitions (SQLAlchemy Core), matching the Alembic migrations in migrations/versions/.

Migrations are the source of truth for the database; these objects are what queries use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from sphinxctl.store.canonical import to_utc

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# SQLite's INTEGER PRIMARY KEY is the rowid; BIGINT would not autoincrement there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC, always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else to_utc(value)


audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("occurred_at", UTCDateTime(), nullable=False, index=True),
    Column("actor", String(200), nullable=False, index=True),
    Column("role", String(64), nullable=False),
    Column("action", String(100), nullable=False, index=True),
    Column("target", String(300), nullable=False),
    Column("params", Text(), nullable=False),
    Column("result", String(2000), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

# One row (id = 1): the last appended seq and hash. Writers lock it (FOR UPDATE on PostgreSQL,
# BEGIN IMMEDIATE on SQLite) so concurrent appends from any process form one chain.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("seq", BigInteger(), nullable=False),
    Column("hash", String(64), nullable=False),
)

rarity_snapshots = Table(
    "rarity_snapshots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("chain", String(64), nullable=False),
    Column("root", String(66), nullable=False),
    Column("leaf_count", Integer(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=True),
    Column("published_tx", String(66), nullable=True),
    Column("published_at", UTCDateTime(), nullable=True),
    UniqueConstraint("chain", "root"),
)

rarity_leaves = Table(
    "rarity_leaves",
    metadata,
    Column(
        "snapshot_id",
        BigId,
        ForeignKey("rarity_snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer(), primary_key=True, autoincrement=False),
    Column("token_id", String(78), nullable=False),
    Column("phi_score", Integer(), nullable=False),
    Column("rank", BigInteger(), nullable=False),
    Column("leaf_hash", String(66), nullable=False),
    Column("proof", Text(), nullable=False),
    Column("node_index", Integer(), nullable=True),  # 0002: proof read from rarity_nodes
    UniqueConstraint("snapshot_id", "token_id"),
)

# 0002: a snapshot's flat Merkle node array (root at 0), so proofs are read, not stored.
rarity_nodes = Table(
    "rarity_nodes",
    metadata,
    Column(
        "snapshot_id",
        BigId,
        ForeignKey("rarity_snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer(), primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# 0002: snapshot jobs (status, progress, owner + lease, publish journal).
rarity_jobs = Table(
    "rarity_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("chain", String(64), nullable=False),
    Column("publish", Boolean(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("done", Integer(), nullable=False),
    Column("total", Integer(), nullable=False),
    Column("round_trips", Integer(), nullable=False),
    Column("root", String(66), nullable=True),
    Column("snapshot_id", BigId, nullable=True),
    Column("leaf_count", Integer(), nullable=True),
    Column("publish_tx", String(66), nullable=True),
    Column("publish_raw", Text(), nullable=True),
    Column("published", Boolean(), nullable=False),
    Column("error", Text(), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("role", String(64), nullable=False),
    Column("owner", String(200), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("attempts", Integer(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_rarity_jobs_chain_status", "chain", "status"),
    Index(
        "uq_rarity_jobs_active_chain",
        "chain",
        unique=True,
        postgresql_where=text("status IN ('queued', 'running')"),
        sqlite_where=text("status IN ('queued', 'running')"),
    ),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("chain", String(64), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("value_wei", String(78), nullable=False),
    Column("value", Double(), nullable=False),
    Column("actor", String(200), nullable=True),
    Column("block_number", BigInteger(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("chain", "tx_hash"),
    Index("ix_transactions_status_chain", "status", "chain"),
)

DATA_TABLES = (
    "audit_events",
    "rarity_snapshots",
    "rarity_leaves",
    "rarity_nodes",
    "rarity_jobs",
    "transactions",
)
