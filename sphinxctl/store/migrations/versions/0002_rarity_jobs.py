"""Rarity snapshots at collection scale: snapshot jobs, stored tree nodes, leaf node indices.

`rarity_jobs` holds each snapshot job's status and progress, its owner and lease (so a rerun
takes over a job whose process died) and the publish journal (the signed setRarityRoot
transaction, written before it is broadcast). `rarity_nodes` keeps a snapshot's flat Merkle
node array, so a proof is read as ~log2(n) nodes instead of being stored per leaf;
`rarity_leaves.node_index` points a leaf at its node (NULL for snapshots stored with proofs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rarity_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("round_trips", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(66), nullable=True),
        sa.Column("snapshot_id", BigId, nullable=True),
        sa.Column("leaf_count", sa.Integer(), nullable=True),
        sa.Column("publish_tx", sa.String(66), nullable=True),
        sa.Column("publish_raw", sa.Text(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        _ts("lease_until", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_rarity_jobs"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name="ck_rarity_jobs_status",
        ),
    )
    op.create_index("ix_rarity_jobs_chain_status", "rarity_jobs", ["chain", "status"])
    # At most one queued or running job per chain, whichever replica creates it.
    active = sa.text("status IN ('queued', 'running')")
    op.create_index(
        "uq_rarity_jobs_active_chain",
        "rarity_jobs",
        ["chain"],
        unique=True,
        postgresql_where=active,
        sqlite_where=active,
    )
    op.create_table(
        "rarity_nodes",
        sa.Column("snapshot_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "position", name="pk_rarity_nodes"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["rarity_snapshots.id"],
            name="fk_rarity_nodes_snapshot_id_rarity_snapshots",
            ondelete="CASCADE",
        ),
    )
    op.add_column("rarity_leaves", sa.Column("node_index", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rarity_leaves") as batch:
        batch.drop_column("node_index")
    op.drop_table("rarity_nodes")
    op.drop_index("uq_rarity_jobs_active_chain", table_name="rarity_jobs")
    op.drop_index("ix_rarity_jobs_chain_status", table_name="rarity_jobs")
    op.drop_table("rarity_jobs")
