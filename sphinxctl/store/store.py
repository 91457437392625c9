"""The Store: one object per process (thread-safe) over one database, PostgreSQL or SQLite."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sphinxctl.errors import StoreError
from sphinxctl.store import audit, backup, health, migrate, rarity, transactions
from sphinxctl.store.engine import READ_ONLY, Target, build_engine, resolve_target
from sphinxctl.store.failures import translated
from sphinxctl.store.models import (
    AuditEvent,
    Backend,
    BackupResult,
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
from sphinxctl.store.snapshots import Snapshots

if TYPE_CHECKING:
    from sphinxctl.settings import Settings
    from sphinxctl.settings.sections import DatabaseSettings

T = TypeVar("T")


class Store:
    """Audit trail, rarity snapshots and sent transactions. See the package docstring."""

    def __init__(self, target: Target, db: DatabaseSettings) -> None:
        self.target = target
        self.engine = build_engine(target, db)
        self.snapshots = Snapshots(self)  # snapshot trees, ranks and jobs (store/snapshots.py)

    @classmethod
    def from_settings(cls, settings: Settings | DatabaseSettings, project_root: Path) -> Store:
        """PostgreSQL when `database.url` is set, else the SQLite file `database.sqlite_path`
        (relative to `project_root`, the directory holding environments/)."""
        from sphinxctl.settings.sections import DatabaseSettings

        db = settings if isinstance(settings, DatabaseSettings) else settings.database
        return cls(resolve_target(db, Path(project_root)), db)

    @classmethod
    def from_url(cls, url: str, project_root: Path = Path("."), **pool: Any) -> Store:
        """Convenience for tests and tools: a URL (postgresql://... or sqlite:///...)."""
        from pydantic import SecretStr

        from sphinxctl.settings.sections import DatabaseSettings

        return cls.from_settings(DatabaseSettings(url=SecretStr(url), **pool), project_root)

    @property
    def backend(self) -> Backend:
        return self.target.backend

    @property
    def location(self) -> str:
        """Where the data lives, without the password."""
        return self.target.location

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- transactions and errors -----------------------------------------------------------
    @contextmanager
    def _tx(self, *, read_only: bool = False, snapshot: bool = False) -> Iterator[Connection]:
        """A connection inside one transaction; database failures become StoreErrors."""
        with translated(self.location, self.target.password), self.engine.connect() as conn:
            if read_only:
                conn.execution_options(**{READ_ONLY: True})
            if snapshot and self.backend == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a write transaction, once more if a concurrent insert collided."""
        for attempt in (1, 2):
            try:
                with self._tx() as conn:
                    return work(conn)
            except StoreError as exc:
                if attempt == 1 and isinstance(exc.__cause__, sa_exc.IntegrityError):
                    continue
                raise
        raise AssertionError("unreachable")

    # --- schema, health (store/migrate.py, store/health.py) --------------------------------
    def migrate(self) -> MigrationResult:
        """Create or upgrade the schema to the newest migration (idempotent, concurrency-safe)."""
        return self._migration(migrate.upgrade)

    def downgrade(self, revision: str = "base") -> MigrationResult:
        """Undo migrations down to `revision` (`base` drops every table: data is lost)."""
        return self._migration(lambda conn: migrate.downgrade(conn, revision))

    def _migration(
        self, step: Callable[[Connection], tuple[str | None, str | None]]
    ) -> MigrationResult:
        with self._tx() as conn:
            before, after = step(conn)
        return MigrationResult(
            backend=self.backend,
            location=self.location,
            from_revision=before,
            to_revision=after,
            applied=before != after,
        )

    def ping(self) -> PingResult:
        """Round-trip `SELECT 1`; raises StoreUnavailable when the database cannot be reached."""
        started = time.perf_counter()
        with self._tx(read_only=True) as conn:
            conn.execute(text("SELECT 1"))
        return PingResult(backend=self.backend, latency_ms=(time.perf_counter() - started) * 1000)

    def readiness(self) -> Readiness:
        """For /health/ready: reachable and migrated to head? Never raises."""
        latency = None
        try:
            latency = self.ping().latency_ms
            with self._tx(read_only=True) as conn:
                return health.readiness(self.backend, latency, migrate.current_revision(conn))
        except StoreError as exc:
            reachable = latency is not None
            return Readiness(
                ok=False,
                backend=self.backend,
                reachable=reachable,
                migrated=False,
                latency_ms=latency,
                detail=exc.message,
            )

    def table_counts(self) -> dict[str, int]:
        """Rows per data table (tables that do not exist yet are left out)."""
        with self._tx(read_only=True) as conn:
            return health.counts(conn)

    def status(self) -> DbStatus:
        """Revision, pending migrations and row counts; raises StoreUnavailable when down."""
        with self._tx(read_only=True) as conn:
            return health.status(conn, self.backend, self.location)

    # --- audit trail -----------------------------------------------------------------------
    def append_audit(
        self,
        actor: str,
        role: str,
        action: str,
        target: str,
        params: Mapping[str, Any] | None = None,
        result: str = "ok",
    ) -> AuditEvent:
        """Append one event to the hash chain (secrets in `params` are redacted first)."""
        with self._tx() as conn:
            return audit.append(
                conn,
                actor=actor,
                role=role,
                action=action,
                target=target,
                params=params,
                result=result,
            )

    def list_audit(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Matching events in seq order (the latest `limit`, or `limit` after `after_seq`)."""
        with self._tx(read_only=True) as conn:
            return audit.list_events(
                conn,
                since=since,
                until=until,
                actor=actor,
                action=action,
                after_seq=after_seq,
                limit=limit,
            )

    def verify_audit(self) -> VerifyResult:
        """Walk the whole chain in one consistent snapshot; `broken` names the first bad row."""
        with self._tx(read_only=True, snapshot=True) as conn:
            return audit.verify(conn)

    # --- rarity snapshots ------------------------------------------------------------------
    def save_snapshot(
        self,
        chain: str,
        root: str,
        leaves: Sequence[SnapshotLeaf],
        *,
        created_by: str | None = None,
    ) -> RaritySnapshot:
        """Store a snapshot and its leaves (idempotent for the same chain, root and leaves)."""
        return self._write(
            lambda conn: rarity.save(
                conn, chain=chain, root=root, leaves=leaves, created_by=created_by
            )
        )

    def get_snapshot(
        self,
        chain: str,
        root: str | None = None,
        *,
        published_only: bool = False,
        with_leaves: bool = True,
    ) -> RaritySnapshot | None:
        """The snapshot with `root`, else the latest one (published only if asked); None if
        there is none."""
        with self._tx(read_only=True) as conn:
            return rarity.get(
                conn, chain=chain, root=root, published_only=published_only, with_leaves=with_leaves
            )

    def get_snapshot_proof(
        self, chain: str, token_id: int, root: str | None = None, *, published_only: bool = False
    ) -> SnapshotProof | None:
        """One token's leaf and proof (in `root`'s snapshot, else the latest)."""
        with self._tx(read_only=True) as conn:
            return rarity.get_proof(
                conn, chain=chain, token_id=token_id, root=root, published_only=published_only
            )

    def mark_snapshot_published(self, chain: str, root: str, tx_hash: str) -> RaritySnapshot:
        with self._tx() as conn:
            return rarity.mark_published(conn, chain=chain, root=root, tx_hash=tx_hash)

    # --- transactions ----------------------------------------------------------------------
    def record_transaction(
        self,
        chain: str,
        tx_hash: str,
        kind: str,
        *,
        value_wei: int = 0,
        decimals: int = 18,
        status: str = "pending",
        actor: str | None = None,
    ) -> TransactionRecord:
        """Record a sent transaction (idempotent for the same chain, hash and kind)."""
        return self._write(
            lambda conn: transactions.record(
                conn,
                chain=chain,
                tx_hash=tx_hash,
                kind=kind,
                value_wei=value_wei,
                decimals=decimals,
                status=status,
                actor=actor,
            )
        )

    def update_transaction_status(
        self, chain: str, tx_hash: str, status: str, *, block_number: int | None = None
    ) -> TransactionRecord:
        with self._tx() as conn:
            return transactions.update_status(
                conn, chain=chain, tx_hash=tx_hash, status=status, block_number=block_number
            )

    def get_transaction(self, chain: str, tx_hash: str) -> TransactionRecord | None:
        with self._tx(read_only=True) as conn:
            return transactions.get(conn, chain=chain, tx_hash=tx_hash)

    def list_transactions(
        self,
        *,
        chain: str | None = None,
        status: str | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[TransactionRecord]:
        with self._tx(read_only=True) as conn:
            return transactions.list_records(
                conn, chain=chain, status=status, after_id=after_id, limit=limit
            )

    def transaction_stats(
        self, buckets: Sequence[float] = transactions.VALUE_BUCKETS
    ) -> TransactionStats:
        """Counts, pending per chain and value histograms computed by the database."""
        with self._tx(read_only=True) as conn:
            return transactions.stats(conn, buckets)

    # --- backup and restore ----------------------------------------------------------------
    def backup(self, path: Path) -> BackupResult:
        """pg_dump (custom format) or SQLite's online backup of the whole database to `path`."""
        counts = self.table_counts()
        with translated(self.location, self.target.password):
            size, digest = backup.write_backup(self.engine, self.target, Path(path))
        return BackupResult(backend=self.backend, path=Path(path), bytes=size, sha256=digest,
                            created_at=datetime.now(UTC), tables=counts)  # fmt: skip

    def restore(self, path: Path, *, force: bool = False) -> RestoreResult:
        """Replace the database's content with a backup; refused over data unless `force`."""
        backup.check_backup_file(self.backend, Path(path))
        rows_before = sum(self.table_counts().values())
        if rows_before and not force:
            raise StoreError(
                f"refusing to restore over a non-empty database ({rows_before} rows in "
                f"{self.location})",
                hint="Take a backup of it first, then pass --force to replace its contents.",
                reference="store-restore-refused",
            )
        with translated(self.location, self.target.password):
            backup.restore_into(self.engine, self.target, Path(path))
        return RestoreResult(backend=self.backend, path=Path(path), forced=force,
                             rows_before=rows_before, tables=self.table_counts())  # fmt: skip
