"""Initial schema: hash-chained audit trail, rarity snapshots and leaves, sent transactions.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", BigId, primary_key=True, autoincrement=False),
        _ts("occurred_at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result", sa.String(2000), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    op.create_index("ix_audit_events_action", "audit_events", ["action"])

    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_chain_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_chain_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])

    op.create_table(
        "rarity_snapshots",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("published_tx", sa.String(66), nullable=True),
        _ts("published_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rarity_snapshots"),
        sa.UniqueConstraint("chain", "root", name="uq_rarity_snapshots_chain_root"),
    )
    op.create_table(
        "rarity_leaves",
        sa.Column("snapshot_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("token_id", sa.String(78), nullable=False),
        sa.Column("phi_score", sa.Integer(), nullable=False),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.String(66), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "position", name="pk_rarity_leaves"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["rarity_snapshots.id"],
            name="fk_rarity_leaves_snapshot_id_rarity_snapshots",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "snapshot_id", "token_id", name="uq_rarity_leaves_snapshot_id_token_id"
        ),
    )

    op.create_table(
        "transactions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("value_wei", sa.String(78), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_transactions"),
        sa.UniqueConstraint("chain", "tx_hash", name="uq_transactions_chain_tx_hash"),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'failed', 'dropped', 'replaced')",
            name="ck_transactions_status",
        ),
    )
    op.create_index("ix_transactions_status_chain", "transactions", ["status", "chain"])

    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE) on audit_events: the trail is append-only.

    Someone with owner rights can still drop the triggers; the hash chain catches that.
    """
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only ({verb} refused)'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.drop_table("audit_events")
    op.drop_table("audit_chain_head")
    op.drop_table("rarity_leaves")
    op.drop_table("rarity_snapshots")
    op.drop_index("ix_transactions_status_chain", table_name="transactions")
    op.drop_table("transactions")
