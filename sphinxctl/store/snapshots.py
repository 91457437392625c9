"""Rarity at collection scale in the store: snapshot trees, ranks by token, snapshot jobs.

`store.snapshots` (one per Store) groups them: `save_tree` keeps a snapshot as leaves plus its
Merkle nodes (proofs read in O(log n)); jobs carry status, progress, an owner with a lease and
the publish journal. Every job write names its owner and changes nothing when another process
has taken the job over (compare-and-set on `owner`), so a worker presumed dead cannot clobber
the one that resumed its job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from sphinxctl.errors import StoreError
from sphinxctl.store import rarity
from sphinxctl.store.schema import rarity_jobs

if TYPE_CHECKING:
    from sphinxctl.rarity.merkle import MerkleTree
    from sphinxctl.store.models import RaritySnapshot
    from sphinxctl.store.store import Store

JobStatus = Literal["queued", "running", "succeeded", "failed"]
ACTIVE: tuple[str, ...] = ("queued", "running")


class SnapshotJob(BaseModel):
    """One rarity snapshot job as stored (`publish_raw` is the journaled signed transaction)."""

    id: str
    chain: str
    publish: bool
    status: JobStatus
    phase: str
    done: int
    total: int
    round_trips: int
    root: str | None = None
    snapshot_id: int | None = None
    leaf_count: int | None = None
    publish_tx: str | None = None
    publish_raw: str | None = None
    published: bool = False
    error: dict[str, Any] | None = None
    actor: str
    role: str
    owner: str | None = None
    lease_until: datetime | None = None
    attempts: int
    created_at: datetime
    updated_at: datetime


def _job(row: Row[Any]) -> SnapshotJob:
    values = dict(row._mapping)
    values["error"] = json.loads(values["error"]) if values["error"] else None
    return SnapshotJob.model_validate(values)


class Snapshots:
    """Snapshot trees, ranks and jobs over one Store (thread-safe, like the Store)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- trees -----------------------------------------------------------------------------
    def save_tree(
        self, chain: str, tree: MerkleTree, *, created_by: str | None = None
    ) -> RaritySnapshot:
        """Store a snapshot as leaves + Merkle nodes (idempotent for the same chain and root)."""
        return self._store._write(
            lambda conn: rarity.save_tree(conn, chain=chain, tree=tree, created_by=created_by)
        )

    def ranks(
        self, chain: str, token_ids: Sequence[int], *, published_only: bool = True
    ) -> dict[int, int]:
        """Rank of each given token in the latest (published) snapshot; absent when not in it."""
        with self._store._tx(read_only=True) as conn:
            return rarity.ranks(
                conn, chain=chain, token_ids=token_ids, published_only=published_only
            )

    # --- jobs ------------------------------------------------------------------------------
    def create_job(
        self,
        chain: str,
        *,
        publish: bool,
        actor: str,
        role: str,
        owner: str,
        lease_until: datetime,
        total: int = 0,
    ) -> SnapshotJob | None:
        """A new job, already running under `owner`; None when the chain already has a queued
        or running job (a unique index holds one per chain across replicas)."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "chain": rarity.check_chain(chain),
            "publish": publish,
            "status": "running",
            "phase": "queued",
            "done": 0,
            "total": total,
            "round_trips": 0,
            "published": False,
            "actor": actor,
            "role": role,
            "owner": owner,
            "lease_until": lease_until,
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
        }

        def work(conn: Connection) -> SnapshotJob:
            conn.execute(insert(rarity_jobs).values(**values))
            return _job(
                conn.execute(select(rarity_jobs).where(rarity_jobs.c.id == values["id"])).one()
            )

        try:
            return self._store._write(work)
        except StoreError as exc:
            if isinstance(exc.__cause__, sa_exc.IntegrityError):
                return None
            raise

    def get_job(self, job_id: str) -> SnapshotJob | None:
        with self._store._tx(read_only=True) as conn:
            row = conn.execute(select(rarity_jobs).where(rarity_jobs.c.id == job_id)).one_or_none()
        return None if row is None else _job(row)

    def active_job(self, chain: str) -> SnapshotJob | None:
        """The newest queued or running job of `chain`, if any."""
        with self._store._tx(read_only=True) as conn:
            row = conn.execute(
                select(rarity_jobs)
                .where(rarity_jobs.c.chain == chain, rarity_jobs.c.status.in_(ACTIVE))
                .order_by(rarity_jobs.c.created_at.desc())
                .limit(1)
            ).one_or_none()
        return None if row is None else _job(row)

    def take_over(
        self, job_id: str, *, previous_owner: str | None, owner: str, lease_until: datetime
    ) -> bool:
        """Claim a job from `previous_owner` (compare-and-set); False when someone else won."""

        def work(conn: Connection) -> bool:
            query = (
                update(rarity_jobs)
                .where(
                    rarity_jobs.c.id == job_id,
                    rarity_jobs.c.status.in_(ACTIVE),
                    rarity_jobs.c.owner.is_(None)
                    if previous_owner is None
                    else rarity_jobs.c.owner == previous_owner,
                )
                .values(
                    owner=owner,
                    lease_until=lease_until,
                    status="running",
                    attempts=rarity_jobs.c.attempts + 1,
                    updated_at=datetime.now(UTC),
                )
            )
            return conn.execute(query).rowcount == 1

        return self._store._write(work)

    def update_job(self, job_id: str, owner: str, **fields: Any) -> bool:
        """Set fields of a job this `owner` holds; False (nothing written) when it lost it."""
        if "error" in fields and fields["error"] is not None:
            fields["error"] = json.dumps(fields["error"], sort_keys=True)
        fields["updated_at"] = datetime.now(UTC)

        def work(conn: Connection) -> bool:
            query = (
                update(rarity_jobs)
                .where(rarity_jobs.c.id == job_id, rarity_jobs.c.owner == owner)
                .values(**fields)
            )
            return conn.execute(query).rowcount == 1

        return self._store._write(work)
