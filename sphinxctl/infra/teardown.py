"""`infra down`: delete the stack in reverse install order. Volumes and the namespace stay
unless asked for: data outlives the workloads by default."""

from __future__ import annotations

from sphinxctl.errors import UsageError
from sphinxctl.infra import applyset, snapshot
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.models import DownResult, ObjectChange, ObjectRef
from sphinxctl.infra.order import kind_rank
from sphinxctl.infra.revisions import current, delete_all, list_revisions
from sphinxctl.infra.values import PART_OF

PART_OF_APP_LABEL = "app.kubernetes.io/part-of"


def down(
    ctx: StackContext, *, delete_volumes: bool = False, delete_namespace: bool = False
) -> DownResult:
    """Delete every member of the stack's ApplySet, its revisions and its parent."""
    if delete_namespace and not delete_volumes:
        raise UsageError(
            "deleting the namespace deletes the volumes in it too",
            hint="pass --delete-volumes as well to confirm that the data goes",
        )
    api, ns = ctx.api, ctx.namespace
    result = DownResult(namespace=ns)
    if api.get("v1", "Namespace", ns, None) is None:
        return result
    parent = api.get("v1", applyset.PARENT_KIND, applyset.PARENT_NAME, ns)
    revisions = list_revisions(api, ns)
    kinds = applyset.parent_group_kinds(parent)
    deployed = current(revisions)
    versions = snapshot.kinds_of(deployed.objects if deployed else [])
    snap = snapshot.take(api, ns, kinds | set(versions), versions)
    members = snapshot.members(snap, ns)
    if delete_volumes:
        seen = {snapshot.key_of(m) for m in members}
        for claim in api.list("v1", "PersistentVolumeClaim", ns, f"{PART_OF_APP_LABEL}={PART_OF}"):
            claim = {**claim, "apiVersion": "v1", "kind": "PersistentVolumeClaim"}
            if snapshot.key_of(claim) not in seen:
                members.append(claim)
    for obj in sorted(members, key=lambda o: -kind_rank(o["kind"])):
        ref = ObjectRef.of(obj)
        if ref.kind == "Namespace":
            continue  # last, and only when asked
        if ref.kind == "PersistentVolumeClaim" and not delete_volumes:
            result.changes.append(
                ObjectChange(
                    object=ref.label, action="keep", detail="volume kept (--delete-volumes)"
                )
            )
            continue
        api.delete(ref.api_version, ref.kind, ref.name, ref.namespace)
        result.changes.append(ObjectChange(object=ref.label, action="delete"))
        ctx.emit("delete", f"{ref.label} deleted", ref.label)
    delete_all(api, ns, revisions)
    api.delete("v1", applyset.PARENT_KIND, applyset.PARENT_NAME, ns)
    if delete_namespace:
        api.delete("v1", "Namespace", ns, None)
        result.changes.append(ObjectChange(object=f"Namespace/{ns}", action="delete"))
        ctx.emit("delete", f"Namespace/{ns} deleted", f"Namespace/{ns}")
    else:
        result.changes.append(
            ObjectChange(
                object=f"Namespace/{ns}",
                action="keep",
                detail="namespace kept (--delete-namespace)",
            )
        )
    return result
