"""Rarity snapshot jobs: read every score in batches, build the tree, store it, publish.

A job's status lives in the store (`store.snapshots`), so any replica answers `GET` for it and
a process that dies mid-job (kill -9) leaves a job that a rerun takes over: its owner is
`host:pid:start-time` with a lease renewed at every step, and a job whose owner process is
gone (same host) or whose lease ran out (any host) is resumed by the next submit. A resumed
job skips what is done (a stored snapshot is not rebuilt) and publishes at most once
(`sphinxctl.rarity.publish`). The same `SnapshotJobs` serves the API (a background thread per
job) and the CLI (in the foreground, with a progress bar fed by `on_progress`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from sphinxctl import metrics
from sphinxctl.errors import SphinxError
from sphinxctl.rarity.errors import NothingMinted, SnapshotJobBusy, SnapshotJobNotFound
from sphinxctl.rarity.publish import NFT, Publisher
from sphinxctl.rarity.reads import DEFAULT_BATCH_SIZE, ScoreReader

if TYPE_CHECKING:
    from sphinxctl.api.chain import ChainGateway
    from sphinxctl.deploy.faults import Faults
    from sphinxctl.store import Store
    from sphinxctl.store.snapshots import SnapshotJob

LEASE_SECONDS = 60.0
_log = logging.getLogger("sphinxctl.rarity")
Progress = Callable[["JobView"], None]


class JobView(BaseModel):
    """A snapshot job as the API and `-o json` show it (no journal, no owner)."""

    job_id: str
    chain: str
    status: str
    phase: str
    done: int
    total: int
    publish: bool
    round_trips: int
    snapshot_id: int | None = None
    root: str | None = None
    leaf_count: int | None = None
    published: bool = False
    tx_hash: str | None = None
    error: dict[str, object] | None = None
    attempts: int
    created_by: str
    created_at: datetime
    updated_at: datetime


def view(job: SnapshotJob) -> JobView:
    return JobView(
        job_id=job.id,
        chain=job.chain,
        status=job.status,
        phase=job.phase,
        done=job.done,
        total=job.total,
        publish=job.publish,
        round_trips=job.round_trips,
        snapshot_id=job.snapshot_id,
        root=job.root,
        leaf_count=job.leaf_count,
        published=job.published,
        tx_hash=job.publish_tx,
        error=job.error,
        attempts=job.attempts,
        created_by=job.actor,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_identity() -> str:
    """`host:pid:start-time`: names this process, and no later one reusing its pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_gone(owner: str | None, lease_until: datetime | None, now: datetime) -> bool:
    """True when the job's owner can no longer be working on it."""
    if owner is None or lease_until is None or lease_until < now:
        return True
    host, _, rest = owner.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine: only its lease tells
    return _start_time(int(pid)) != started


class LostJob(SphinxError):
    """This process no longer owns the job (another one took it over)."""

    reference = "snapshot-job-taken-over"


class SnapshotJobs:
    """Submit, run and look up rarity snapshot jobs on one store and gateway."""

    def __init__(
        self,
        store: Store,
        gateway: ChainGateway,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        faults: Faults | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        from sphinxctl.deploy.faults import NO_FAULTS

        self.store, self.gateway = store, gateway
        self.batch_size = batch_size
        self.faults = faults or NO_FAULTS
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = process_identity()

    def reader(self, chain: str) -> ScoreReader:
        address = self.gateway.address(chain, NFT)  # unknown chain / no contract: 404
        return ScoreReader(
            self.gateway.client(chain, attempts=4), address, batch_size=self.batch_size
        )

    def get(self, chain: str, job_id: str) -> JobView:
        job = self.store.snapshots.get_job(job_id)
        if job is None or job.chain != chain:
            raise SnapshotJobNotFound(f"no rarity snapshot job {job_id!r} on {chain}")
        return view(job)

    def submit(self, chain: str, *, publish: bool, actor: str, role: str) -> tuple[JobView, bool]:
        """The job for this snapshot and whether the caller must run it: a live job of the chain
        is returned as is; a job whose owner died is taken over; else a new job starts."""
        total = self.reader(chain).total_minted()
        if total == 0:
            raise NothingMinted(f"no token has been minted on {chain} yet")
        now = datetime.now(UTC)
        for _attempt in range(3):  # another replica may create or finish one meanwhile
            active = self.store.snapshots.active_job(chain)
            if active is not None and not owner_gone(active.owner, active.lease_until, now):
                if active.publish != publish:
                    raise SnapshotJobBusy(
                        f"snapshot job {active.id} is running on {chain} (publish={active.publish})"
                    )
                return view(active), False
            if active is not None:
                won = self.store.snapshots.take_over(
                    active.id,
                    previous_owner=active.owner,
                    owner=self.owner,
                    lease_until=now + self.lease,
                )
                current = self.store.snapshots.get_job(active.id)
                assert current is not None
                return view(current), won
            job = self.store.snapshots.create_job(
                chain,
                publish=publish,
                actor=actor,
                role=role,
                owner=self.owner,
                lease_until=now + self.lease,
                total=total,
            )
            if job is not None:
                return view(job), True
        raise SnapshotJobBusy(f"snapshot jobs on {chain} keep changing; try again")

    def run(self, job_id: str, on_progress: Progress | None = None) -> JobView:
        """Run (or resume) a job this process owns to its end; failures are recorded on the job
        and raised."""
        job = self.store.snapshots.get_job(job_id)
        if job is None:
            raise SnapshotJobNotFound(f"no rarity snapshot job {job_id!r}")
        notify = on_progress or (lambda _view: None)
        try:
            job = self._run(job, notify)
        except LostJob:
            raise
        except SphinxError as exc:
            error = {k: v for k, v in exc.to_dict().items() if k != "exit_code"}
            self._set(job, notify, status="failed", phase="failed", error=error)
            raise
        except Exception as exc:
            error = {"error": "internal-error", "message": f"{type(exc).__name__}: {exc}"}
            self._set(job, notify, status="failed", phase="failed", error=error)
            raise
        return view(job)

    def run_in_background(self, job_id: str) -> threading.Thread:
        def target() -> None:
            try:
                self.run(job_id)
            except Exception as exc:  # noqa: BLE001 — recorded on the job; the thread only logs
                _log.warning("rarity snapshot job %s failed: %s", job_id, exc)

        thread = threading.Thread(target=target, name=f"rarity-job-{job_id[:8]}", daemon=True)
        thread.start()
        return thread

    def _set(self, job: SnapshotJob, notify: Progress, **fields: object) -> SnapshotJob:
        fields["lease_until"] = datetime.now(UTC) + self.lease
        if not self.store.snapshots.update_job(job.id, self.owner, **fields):
            raise LostJob(f"rarity snapshot job {job.id} was taken over by another process")
        updated = job.model_copy(update={**fields, "updated_at": datetime.now(UTC)})
        notify(view(updated))
        return updated

    def _run(self, job: SnapshotJob, notify: Progress) -> SnapshotJob:
        from sphinxctl.rarity.merkle import MerkleTree

        chain = job.chain
        if job.snapshot_id is None:
            reader = self.reader(chain)
            total = reader.total_minted()
            job = self._set(job, notify, phase="reading", total=total, done=0)
            done = 0

            def on_batch(count: int) -> None:
                nonlocal job, done
                done += count
                job = self._set(job, notify, done=done, round_trips=reader.round_trips)

            scores = reader.scores(range(1, total + 1), on_batch)
            if not scores:
                raise NothingMinted(f"no token has been minted on {chain} yet")
            job = self._set(job, notify, phase="building", round_trips=reader.round_trips)
            with metrics.PROOF_GENERATION.time():
                tree = MerkleTree.from_scores(scores)
            job = self._set(job, notify, phase="storing")
            snapshot = self.store.snapshots.save_tree(chain, tree, created_by=job.actor)
            job = self._set(
                job, notify, root=snapshot.root, snapshot_id=snapshot.id, leaf_count=len(tree)
            )
            self.faults.hit("recorded")
        if job.publish and not job.published:
            job = self._set(job, notify, phase="publishing")
            published = Publisher(self.store, self.gateway, job, self.owner, self.faults).publish()
            job = self._set(job, notify, published=True, publish_tx=published.tx_hash)
        return self._set(job, notify, status="succeeded", phase="done", error=None)


def snapshot(
    jobs: SnapshotJobs,
    chain: str,
    *,
    publish: bool,
    actor: str,
    role: str,
    on_progress: Progress | None = None,
    poll_seconds: float = 0.5,
) -> JobView:
    """Submit and run a snapshot to its end in this process (the CLI's path); when a live job
    of another process already covers it, follow that job until it ends instead."""
    import time

    job, run = jobs.submit(chain, publish=publish, actor=actor, role=role)
    notify = on_progress or (lambda _view: None)
    notify(job)
    if run:
        return jobs.run(job.job_id, notify)
    while job.status in ("queued", "running"):
        time.sleep(poll_seconds)
        job = jobs.get(chain, job.job_id)
        notify(job)
    return job
