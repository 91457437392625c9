"""Read-side infra operations: `diff`, `status`, `history`."""

from __future__ import annotations

import textwrap

from sphinxctl.errors import KubernetesError, UsageError
from sphinxctl.infra import applyset, snapshot
from sphinxctl.infra.apply import prune
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.diff import mask_secrets, normalize, unified
from sphinxctl.infra.models import (
    DiffResult,
    HistoryResult,
    ObjectDiff,
    ObjectRef,
    ObjectStatus,
    StatusResult,
)
from sphinxctl.infra.order import CLUSTER_SCOPED
from sphinxctl.infra.preflight import secret_as_data, settles_unchanged, unchanged
from sphinxctl.infra.render import render_objects
from sphinxctl.infra.revisions import current, info, list_revisions
from sphinxctl.infra.secret_values import redact, reveal, secret_strings
from sphinxctl.infra.wait import readiness


def diff(ctx: StackContext) -> DiffResult:
    """Server dry-run of every rendered object against its live state, plus what would be
    pruned. Secret values are masked on both sides."""
    if ctx.sources is None:
        raise UsageError("infra diff needs the manifest sources")
    api, ns = ctx.api, ctx.namespace
    objects = render_objects(ctx.settings, ctx.sources)
    revealed = [secret_as_data(o) for o in reveal(objects, ctx.settings)]
    api.add_secrets(secret_strings(ctx.settings))
    result = DiffResult(environment=ctx.settings.environment, namespace=ns)
    parent = api.get("v1", applyset.PARENT_KIND, applyset.PARENT_NAME, ns)
    versions = snapshot.kinds_of(objects)
    snap = snapshot.take(api, ns, applyset.parent_group_kinds(parent) | set(versions), versions)
    namespace_exists = ("Namespace", None, ns) in snap
    for obj, shown in zip(revealed, objects, strict=True):
        ref = ObjectRef.of(obj)
        live = snap.get(snapshot.key_of(obj))
        if namespace_exists or ref.kind in CLUSTER_SCOPED:
            try:
                new = api.apply(obj, dry_run=True)
            except KubernetesError as exc:
                if exc.reference != "kubernetes-conflict":
                    raise
                # Another field manager owns fields sphinxctl sets to other values:
                # `infra up` would be refused until `--force-conflicts`.
                result.objects.append(
                    ObjectDiff(object=ref.label, action="conflict", diff=_conflict_text(exc))
                )
                continue
        else:
            new = redact(shown)  # nothing to dry-run against yet
        live_n, new_n = mask_secrets(normalize(live), normalize(new))
        if live is None:
            action = "create"
        elif unchanged(live, new) or (namespace_exists and settles_unchanged(api, obj, new)):
            action = "unchanged"
        else:
            action = "configure"
        text = "" if action == "unchanged" else unified(ref.label, live_n, new_n)
        result.objects.append(ObjectDiff(object=ref.label, action=action, diff=text))
    for change in prune(ctx, objects, snap, dry_run=True):
        marker = f"--- live/{change.object}\n+++ (pruned)\n" if change.action == "prune" else ""
        result.objects.append(ObjectDiff(object=change.object, action=change.action, diff=marker))
    return result


def _conflict_text(exc: KubernetesError) -> str:
    """The server's conflict list as comment lines short enough for a terminal."""
    said = exc.message.split("HTTP 409 Conflict: ", 1)[-1]
    lines = [f"# {ln}" for part in said.splitlines() for ln in textwrap.wrap(part, 76)]
    lines.append("# `sphinxctl infra up --force-conflicts` takes these fields over")
    return "\n".join(lines) + "\n"


def status(ctx: StackContext) -> StatusResult:
    """Existence and readiness of every object of the deployed revision (or, before the
    first `up`, of the rendered stack)."""
    api, ns = ctx.api, ctx.namespace
    revisions = list_revisions(api, ns) if api.get("v1", "Namespace", ns, None) else []
    now = current(revisions)
    if now is not None:
        refs = [ObjectRef.of(o) for o in now.objects]
    elif ctx.sources is not None:
        refs = [ObjectRef.of(o) for o in render_objects(ctx.settings, ctx.sources)]
    else:
        refs = []
    result = StatusResult(
        environment=ctx.settings.environment,
        namespace=ns,
        server=api.host,
        revision=now.revision if now else None,
    )
    for ref in refs:
        live = ctx.live(ref)
        ready, why = readiness(live, api)
        result.objects.append(
            ObjectStatus(object=ref.label, exists=live is not None, ready=ready, detail=why)
        )
    return result


def history(ctx: StackContext, *, show: int | None = None) -> HistoryResult:
    """Recorded revisions, oldest first; with `show`, that revision's (redacted) objects."""
    revisions = list_revisions(ctx.api, ctx.namespace)
    result = HistoryResult(
        namespace=ctx.namespace, revisions=[info(r, revisions) for r in revisions]
    )
    if show is not None:
        found = [r for r in revisions if r.revision == show]
        if not found:
            known = ", ".join(str(r.revision) for r in revisions) or "none"
            raise UsageError(
                f"no revision {show} in namespace {ctx.namespace!r}",
                hint=f"recorded revisions: {known}",
            )
        result.manifest = found[0].objects
    return result
