"""`infra up` and `infra rollback`: server-side apply in install order, prune, revision, wait.

Order of work (as kubectl's ApplySet apply): namespaces, then the ApplySet parent listing the
union of old and new kinds, then every object, then the prune of members no longer rendered,
then the parent with the new kinds only, then the revision, then (optionally) the wait.
"""

from __future__ import annotations

from typing import Any

from sphinxctl.errors import SphinxError, UsageError
from sphinxctl.infra import applyset, snapshot
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.models import ObjectChange, ObjectRef, UpResult
from sphinxctl.infra.order import CLUSTER_SCOPED, kind_rank
from sphinxctl.infra.preflight import (
    await_namespace_gone,
    preflight,
    recreate_object,
    secret_as_data,
    settles_unchanged,
    unchanged,
)
from sphinxctl.infra.render import render_objects
from sphinxctl.infra.revisions import (
    Revision,
    current,
    list_revisions,
    new_revision,
    record,
)
from sphinxctl.infra.secret_values import redact, rehydrate, reveal, secret_strings
from sphinxctl.infra.wait import wait_ready

# Never pruned: a namespace takes everything with it, a claim holds data.
NEVER_PRUNED = frozenset({"Namespace", "PersistentVolumeClaim"})


def up(
    ctx: StackContext,
    *,
    dry_run: bool = False,
    wait: bool = False,
    timeout: float = 300,
    force_conflicts: bool = False,
    recreate: bool = False,
) -> UpResult:
    """Render the environment's stack and apply it."""
    if ctx.sources is None:
        raise UsageError("infra up needs the manifest sources")
    objects = render_objects(ctx.settings, ctx.sources)
    return apply_set(
        ctx,
        objects,
        "upgrade",
        dry_run=dry_run,
        wait=wait,
        timeout=timeout,
        force_conflicts=force_conflicts,
        recreate=recreate,
    )


def rollback(
    ctx: StackContext,
    *,
    to: int | None = None,
    wait: bool = False,
    timeout: float = 300,
    recreate: bool = False,
) -> UpResult:
    """Re-apply an earlier revision's objects (Secret values from today's settings)."""
    revisions = list_revisions(ctx.api, ctx.namespace)
    now = current(revisions)
    if now is None:
        raise UsageError(
            f"nothing is deployed in namespace {ctx.namespace!r}: no revision to roll back",
            hint="run `sphinxctl infra up` first",
        )
    if to is None:
        earlier = [r for r in revisions if r.status == "deployed" and r.revision < now.revision]
        if not earlier:
            raise UsageError(
                f"revision {now.revision} is the first one: there is nothing to roll back to"
            )
        target = earlier[-1]
    else:
        found = [r for r in revisions if r.revision == to]
        if not found:
            known = ", ".join(str(r.revision) for r in revisions)
            raise UsageError(
                f"no revision {to} in namespace {ctx.namespace!r}",
                hint=f"recorded revisions: {known}",
            )
        target = found[0]
    if target.environment != ctx.settings.environment:
        raise UsageError(
            f"revision {target.revision} was applied for environment {target.environment!r}, "
            f"not {ctx.settings.environment!r}",
            hint=f"run with -e {target.environment}",
        )
    return apply_set(
        ctx,
        rehydrate(target.objects),
        f"rollback to {target.revision}",
        dry_run=False,
        wait=wait,
        timeout=timeout,
        recreate=recreate,
    )


def apply_set(
    ctx: StackContext,
    objects: list[dict[str, Any]],
    description: str,
    *,
    dry_run: bool,
    wait: bool,
    timeout: float,
    force_conflicts: bool = False,
    recreate: bool = False,
) -> UpResult:
    """Apply `objects` (Secret values still as markers) as the new applied set."""
    api, ns = ctx.api, ctx.namespace
    revealed = [secret_as_data(o) for o in reveal(objects, ctx.settings)]
    api.add_secrets(secret_strings(ctx.settings))
    result = UpResult(environment=ctx.settings.environment, namespace=ns, dry_run=dry_run)
    parent = api.get("v1", applyset.PARENT_KIND, applyset.PARENT_NAME, ns)
    old_kinds = applyset.parent_group_kinds(parent)
    versions = snapshot.kinds_of(objects)
    new_kinds = set(versions)
    if not dry_run:
        await_namespace_gone(ctx, timeout)
    revisions = [] if dry_run else list_revisions(api, ns)
    try:
        live = snapshot.take(api, ns, old_kinds | new_kinds, versions)
        firsts = [o for o in revealed if o["kind"] in CLUSTER_SCOPED]
        rest = [o for o in revealed if o["kind"] not in CLUSTER_SCOPED]
        planned: dict[str, Any] | None
        for obj in firsts:
            planned = api.apply(obj, dry_run=True, force=force_conflicts)
            result.changes.append(_apply_one(ctx, obj, live, planned, dry_run, force_conflicts))
        if dry_run and ("Namespace", None, ns) not in live:
            for obj in rest:  # the server cannot dry-run inside a namespace not yet there
                result.changes.append(
                    ObjectChange(
                        object=ObjectRef.of(obj).label,
                        action="create",
                        detail="namespace does not exist yet",
                    )
                )
            return result
        # Every object is dry-run first, so a refusal (unknown or immutable field, RBAC)
        # stops the apply before any of the stack is written, and an object the dry run
        # shows unchanged is not written at all.
        planned_rest, immutable = preflight(ctx, rest, force_conflicts, recreate=recreate)
        if not dry_run:
            for ref in immutable:
                recreate_object(ctx, ref, live, timeout)
            _apply_parent(ctx, parent, old_kinds | new_kinds)
        for obj in rest:
            planned = planned_rest.get(snapshot.key_of(obj))
            result.changes.append(_apply_one(ctx, obj, live, planned, dry_run, force_conflicts))
        result.changes.extend(prune(ctx, objects, live, dry_run=dry_run))
        if dry_run:
            return result
        _apply_parent(ctx, api.get("v1", applyset.PARENT_KIND, applyset.PARENT_NAME, ns), new_kinds)
    except SphinxError as exc:
        if not dry_run:
            _record_failure(ctx, objects, description, revisions, exc)
        raise
    result.revision, result.recorded_revision = _record(
        ctx, objects, description, revisions, result.changed
    )
    if wait:
        wait_ready(
            api,
            [ObjectRef.of(o) for o in objects],
            timeout=timeout,
            on_event=ctx.on_event,
            poll_interval=ctx.poll_interval,
            sleep=ctx.sleep,
            clock=ctx.clock,
        )
        result.waited = True
    return result


def _apply_parent(ctx: StackContext, live: dict[str, Any] | None, kinds: set[str]) -> None:
    """Apply the ApplySet parent listing `kinds`, unless the live one already says so."""
    wanted = applyset.parent_object(ctx.namespace, kinds)
    if live is not None:
        have = (live.get("metadata") or {}).get("annotations") or {}
        if all(have.get(k) == v for k, v in wanted["metadata"]["annotations"].items()):
            return
    ctx.api.apply(wanted)


def _apply_one(
    ctx: StackContext,
    obj: dict[str, Any],
    snap: snapshot.Snapshot,
    planned: dict[str, Any] | None,
    dry_run: bool,
    force: bool,
) -> ObjectChange:
    ref = ObjectRef.of(obj)
    live = snap.get(snapshot.key_of(obj))
    if unchanged(live, planned):
        return ObjectChange(object=ref.label, action="unchanged")
    if (
        live is not None
        and planned is not None
        and settles_unchanged(ctx.api, obj, planned, force=force)
    ):
        return ObjectChange(object=ref.label, action="unchanged")
    if not dry_run:
        ctx.api.apply(obj, force=force)
    action = "create" if live is None else "configure"
    ctx.emit("apply", f"{ref.label} {action}{' (dry run)' if dry_run else ''}", ref.label)
    return ObjectChange(object=ref.label, action=action)


def prune(
    ctx: StackContext, objects: list[dict[str, Any]], snap: snapshot.Snapshot, *, dry_run: bool
) -> list[ObjectChange]:
    """Delete members of the ApplySet that `objects` no longer holds (reverse install order)."""
    keep = {snapshot.key_of(o) for o in objects}
    changes = []
    candidates = [
        o for o in snapshot.members(snap, ctx.namespace) if snapshot.key_of(o) not in keep
    ]
    for obj in sorted(candidates, key=lambda o: -kind_rank(o["kind"])):
        ref = ObjectRef.of(obj)
        if ref.kind in NEVER_PRUNED:
            detail = "no longer rendered; kept (holds data)"
            changes.append(ObjectChange(object=ref.label, action="keep", detail=detail))
            continue
        if not dry_run:
            ctx.api.delete(ref.api_version, ref.kind, ref.name, ref.namespace)
        changes.append(ObjectChange(object=ref.label, action="prune"))
        ctx.emit("prune", f"{ref.label} pruned{' (dry run)' if dry_run else ''}", ref.label)
    return changes


def _record(
    ctx: StackContext,
    objects: list[dict[str, Any]],
    description: str,
    revisions: list[Revision],
    changed: bool,
) -> tuple[int, bool]:
    """Record a revision unless nothing changed and the set equals the deployed one."""
    redacted = [redact(o) for o in objects]
    latest = revisions[-1] if revisions else None
    rev = new_revision(
        (latest.revision + 1) if latest else 1,
        "deployed",
        "install" if latest is None else description,
        ctx.settings.environment,
        redacted,
    )
    same_set = latest is not None and latest.status == "deployed" and latest.digest == rev.digest
    if latest is not None and same_set and not changed:
        ctx.emit("revision", f"nothing changed; revision {latest.revision} stays current")
        return latest.revision, False
    record(ctx.api, ctx.namespace, rev, revisions)
    ctx.emit("revision", f"recorded revision {rev.revision} ({rev.description})")
    return rev.revision, True


def _record_failure(
    ctx: StackContext,
    objects: list[dict[str, Any]],
    description: str,
    revisions: list[Revision],
    exc: SphinxError,
) -> None:
    """Best effort: a failed apply leaves a `failed` revision saying why."""
    try:
        if ctx.api.get("v1", "Namespace", ctx.namespace, None) is None:
            return
        latest = revisions[-1].revision if revisions else 0
        rev = new_revision(
            latest + 1,
            "failed",
            f"{description} failed: {exc.message}"[:300],
            ctx.settings.environment,
            [redact(o) for o in objects],
        )
        record(ctx.api, ctx.namespace, rev, revisions)
    except SphinxError:
        pass
