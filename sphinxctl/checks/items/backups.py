"""Backups and disaster recovery: the database's schema and audit chain, backups and their job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import (
    Blocked,
    Outcome,
    check,
    failed,
    not_applicable,
    passed,
    problems_outcome,
)

if TYPE_CHECKING:
    from sphinxctl.store.models import DbStatus
    from sphinxctl.store.store import Store

MAX_BACKUP_AGE = timedelta(hours=26)
BACKUP_CRONJOB = "postgres-backup"


def open_store(ctx: CheckContext) -> Store:
    """The environment's database (never created by a check); Blocked when it cannot be."""
    from sphinxctl.store.engine import resolve_target
    from sphinxctl.store.store import Store

    def build() -> Store:
        db = ctx.settings.database
        if db.url is None and not ctx.is_local:
            raise Blocked("CFG-003", "database.url is not set")
        target = resolve_target(db, ctx.project_root)
        if target.sqlite_path is not None and not target.sqlite_path.is_file():
            raise Blocked(
                "BAK-001",
                f"no database at {target.location}",
                "create it with `sphinxctl db migrate`",
            )
        bounded = db.model_copy(update={"pool_timeout_seconds": ctx.timeout_for(5.0)})
        return Store(target, bounded)

    return ctx.memo("store", build)


def db_status(ctx: CheckContext) -> DbStatus:
    """The database's revision and counts (Blocked by BAK-001 when unreachable)."""
    from sphinxctl.errors import StoreError

    def status() -> DbStatus:
        try:
            return open_store(ctx).status()
        except StoreError as exc:
            raise Blocked("BAK-001", exc.message, exc.hint) from None

    return ctx.memo("db-status", status)


@check("BAK-001", "db-migrated")
def db_migrated(ctx: CheckContext) -> Outcome:
    """The database schema is migrated to the latest revision."""
    try:
        status = db_status(ctx)
    except Blocked as blocked:
        if blocked.item_id != "BAK-001":
            raise
        return failed(blocked.reason, blocked.hint or "check database.url and that it runs")
    if not status.up_to_date:
        return failed(
            f"{status.location}: schema at {status.current_revision or 'no revision'}, "
            f"latest is {status.head_revision}",
            "run `sphinxctl db migrate` (idempotent; back up first)",
        )
    return passed(f"{status.location}: schema at {status.head_revision}")


@check("BAK-002", "audit-chain-intact")
def audit_chain_intact(ctx: CheckContext) -> Outcome:
    """The audit trail's hash chain verifies end to end."""
    status = db_status(ctx)
    if not status.up_to_date:
        raise Blocked("BAK-001", "the schema is not migrated")
    result = open_store(ctx).verify_audit()
    if not result.ok and result.broken is not None:
        return failed(
            f"audit chain broken at row {result.broken.seq}: {result.broken.reason}",
            "treat as an incident: restore the row from backup and find who changed it",
            seq=result.broken.seq,
        )
    return passed(f"{result.checked} audit events verify; head {result.head_hash[:12]}…")


@check("BAK-003", "backup-recent")
def backup_recent(ctx: CheckContext) -> Outcome:
    """A database backup younger than 26 hours exists (the backup CronJob's last success)."""
    from sphinxctl.checks.items.infrastructure import cluster_configured, live_object

    if ctx.is_local and not cluster_configured(ctx):
        return not_applicable("local SQLite database without a backup schedule")
    job = live_object(ctx, "batch/v1", "CronJob", BACKUP_CRONJOB)
    if job is None:
        return failed(
            f"CronJob {BACKUP_CRONJOB} is not in the cluster",
            "run `sphinxctl infra up` (the stack includes the backup CronJob)",
        )
    last = (job.get("status") or {}).get("lastSuccessfulTime")
    if not last:
        return failed(
            f"CronJob {BACKUP_CRONJOB} has never completed a backup",
            f"run one now: kubectl create job --from=cronjob/{BACKUP_CRONJOB} backup-now",
        )
    when = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    age = datetime.fromtimestamp(ctx.clock(), UTC) - when
    if age > MAX_BACKUP_AGE:
        return failed(
            f"last successful backup {when:%Y-%m-%d %H:%M} UTC is "
            f"{age.total_seconds() / 3600:.0f} h old",
            "look at the CronJob's failed jobs (`kubectl get jobs`), fix them, run one now",
        )
    return passed(f"last successful backup {when:%Y-%m-%d %H:%M} UTC")


@check("BAK-004", "backup-cronjob-rendered")
def backup_cronjob_rendered(ctx: CheckContext) -> Outcome:
    """The rendered stack includes the scheduled pg_dump CronJob with retention."""
    from sphinxctl.checks.items.infrastructure import rendered_objects

    k8s = ctx.settings.kubernetes
    job = next(
        (o for o in rendered_objects(ctx)
         if o.get("kind") == "CronJob" and o["metadata"]["name"] == BACKUP_CRONJOB),
        None,
    )  # fmt: skip
    if job is None:
        return failed(
            f"the rendered stack has no CronJob {BACKUP_CRONJOB}",
            "restore manifests/backup.yaml",
        )
    problems = []
    spec = job.get("spec", {})
    if spec.get("schedule") != k8s.backup_schedule:
        problems.append(f"schedule {spec.get('schedule')!r} != {k8s.backup_schedule!r}")
    pod = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    containers = pod.get("containers", [])
    if not any("pg_dump" in str(c.get("command", "")) + str(c.get("args", "")) for c in containers):
        problems.append("the job does not run pg_dump")
    retention = {
        str(e.get("value"))
        for c in containers
        for e in c.get("env", [])
        if e.get("name") == "RETENTION_DAYS"
    }
    if retention != {str(k8s.backup_retention_days)}:
        problems.append(
            f"RETENTION_DAYS is {sorted(retention) or 'unset'}, "
            f"configured {k8s.backup_retention_days}"
        )
    return problems_outcome(
        problems,
        f"pg_dump at {k8s.backup_schedule!r}, keeping {k8s.backup_retention_days} days",
        "fix manifests/backup.yaml",
    )
