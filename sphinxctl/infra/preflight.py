"""Checks `infra up` makes before it writes: the namespace is not terminating, every object
passes a server dry run (schema, immutable fields, RBAC), and which objects would not change
at all (those are not sent). See docs/kubernetes-apply.md for the server behaviour behind it."""

from __future__ import annotations

import base64
from typing import Any

from sphinxctl.errors import KubernetesError, ManifestRejected
from sphinxctl.infra import snapshot
from sphinxctl.infra.applyset import FIELD_MANAGER
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.diff import normalize
from sphinxctl.infra.models import ObjectRef

HOLDS_DATA = frozenset({"PersistentVolumeClaim"})


def secret_as_data(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret's `stringData` sent as base64 `data`: under server-side apply a key dropped
    from `stringData` stays in the live `data` forever (stringData is write-only, so nobody
    owns the key); applied as `data`, sphinxctl owns each key and a dropped one is removed."""
    if obj.get("kind") != "Secret" or not obj.get("stringData"):
        return obj
    data = dict(obj.get("data") or {})
    for key, value in obj["stringData"].items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out = {k: v for k, v in obj.items() if k != "stringData"}
    out["data"] = data
    return out


def await_namespace_gone(ctx: StackContext, timeout: float) -> None:
    """If the namespace is still terminating (a recent `down --delete-namespace`), wait for
    it to go, reporting progress: the server refuses creates in it until then."""
    deadline = ctx.clock() + timeout
    said = None
    while True:
        live = ctx.api.get("v1", "Namespace", ctx.namespace, None)
        if live is None or not (live.get("metadata") or {}).get("deletionTimestamp"):
            return
        conditions = (live.get("status") or {}).get("conditions") or []
        left = [c.get("message", "") for c in conditions if c.get("status") == "True"]
        why = "; ".join(m for m in left if m)[:200] or "finalizers running"
        if ctx.clock() >= deadline:
            raise KubernetesError(
                f"namespace {ctx.namespace!r} is still being deleted after {timeout:g}s ({why})",
                hint="a previous `infra down --delete-namespace` is still finishing; run "
                "`infra up` again once the namespace is gone, or pass a longer --timeout",
                reference="namespace-terminating",
            )
        if why != said:
            ctx.emit("wait", f"namespace {ctx.namespace} is being deleted; waiting ({why})")
            said = why
        ctx.sleep(ctx.poll_interval)


def preflight(
    ctx: StackContext,
    objects: list[dict[str, Any]],
    force_conflicts: bool,
    *,
    recreate: bool,
) -> tuple[dict[snapshot.Key, dict[str, Any]], list[ObjectRef]]:
    """Dry-run every object: what each would become, and the ones whose change needs a
    re-create (immutable fields) when `recreate`, else one error naming them all. Any other
    refusal is raised as it comes."""
    planned: dict[snapshot.Key, dict[str, Any]] = {}
    immutable: list[tuple[ObjectRef, ManifestRejected]] = []
    for obj in objects:
        try:
            planned[snapshot.key_of(obj)] = ctx.api.apply(obj, dry_run=True, force=force_conflicts)
        except ManifestRejected as exc:
            if exc.reference != "kubernetes-immutable-field":
                raise
            immutable.append((ObjectRef.of(obj), exc))
    claims = [ref for ref, _ in immutable if ref.kind in HOLDS_DATA]
    if immutable and (claims or not recreate):
        first = immutable[0][1]
        names = ", ".join(ref.label for ref, _ in immutable)
        hint = first.hint
        if claims:  # deleting a claim deletes its data: never done for the operator
            hint = (
                f"{', '.join(c.label for c in claims)} holds data and is never re-created; "
                "revert the change to it, or migrate the data to a new claim by hand"
            )
        raise ManifestRejected(
            f"nothing was applied: {names} cannot change in place ({first.message})",
            hint=hint,
            reference="kubernetes-immutable-field",
            details={"objects": [ref.label for ref, _ in immutable]},
        )
    return planned, [ref for ref, _ in immutable]


def _ours(obj: dict[str, Any]) -> Any:
    """The fields sphinxctl's apply owns on `obj`."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            return entry.get("fieldsV1")
    return None


def unchanged(live: dict[str, Any] | None, planned: dict[str, Any] | None) -> bool:
    """Whether applying would change nothing: same object, same fields owned by sphinxctl.
    (Re-applying such an object can still bump its resourceVersion on the real server, e.g.
    an explicit empty list, or the first apply after a create: so it is not sent.)"""
    if live is None or planned is None:
        return False
    return normalize(live) == normalize(planned) and _ours(live) == _ours(planned)


def settles_unchanged(
    api: Any, obj: dict[str, Any], planned: dict[str, Any], *, force: bool = False, rounds: int = 3
) -> bool:
    """Whether an object that looked changed is in fact unchanged once read again: controllers
    (the HPA's scale, a Deployment's revision annotation) write objects between a snapshot and
    its dry run, so a live/planned pair taken at different moments can differ with nothing to
    apply. Each round compares the object as it is now with a fresh dry run of it."""
    ref = ObjectRef.of(obj)
    for _ in range(rounds):
        now = api.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        if now is None:
            return False
        if unchanged(now, planned):
            return True
        planned = api.apply(obj, dry_run=True, force=force)
    return False


def recreate_object(
    ctx: StackContext, ref: ObjectRef, snap: snapshot.Snapshot, timeout: float
) -> None:
    """Delete an object whose immutable fields change, and wait until it is gone."""
    ctx.api.delete(ref.api_version, ref.kind, ref.name, ref.namespace)
    ctx.emit("delete", f"{ref.label} deleted to be re-created (immutable field)", ref.label)
    deadline = ctx.clock() + timeout
    while ctx.api.get(ref.api_version, ref.kind, ref.name, ref.namespace) is not None:
        if ctx.clock() >= deadline:
            raise KubernetesError(
                f"{ref.label} was deleted to be re-created but is still there after {timeout:g}s",
                reference="kubernetes-wait-timeout",
            )
        ctx.sleep(ctx.poll_interval)
    snap.pop((ref.kind, ref.namespace, ref.name), None)
