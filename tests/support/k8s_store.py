"""Object store of the Kubernetes API test server: server-side apply semantics good enough for
sphinxctl's tests (create-or-merge, per-manager field ownership, conflicts, managedFields,
resourceVersion and generation bumps, no-op applies that change nothing, defaulting and
readiness emulation)."""

from __future__ import annotations

import base64
import copy
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Path_ = tuple[str, ...]
Key = tuple[str, str, str, str]  # group, plural, namespace ('' when cluster-scoped), name


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCE_TYPES = [
    ResourceType("", "v1", "Namespace", "namespaces", namespaced=False),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "ConfigMap", "configmaps"),
    ResourceType("", "v1", "Service", "services"),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts"),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ResourceType("", "v1", "Pod", "pods"),
    ResourceType("apps", "v1", "Deployment", "deployments"),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets"),
    ResourceType("batch", "v1", "CronJob", "cronjobs"),
    ResourceType("batch", "v1", "Job", "jobs"),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ResourceType("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses"),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False
    ),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False),
]
PREFERRED = {"autoscaling": "v2"}
_IGNORED_FOR_OWNERSHIP = {("apiVersion",), ("kind",), ("metadata", "name")}
_IGNORED_FOR_OWNERSHIP |= {("metadata", "namespace")}


class ApiError(Exception):
    """Becomes a Kubernetes Status response."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details or {}


def leaf_paths(node: Any, prefix: Path_ = ()) -> set[Path_]:
    """Paths to every leaf; lists and empty maps count as leaves (atomic, as for our tests)."""
    if isinstance(node, dict) and node:
        out: set[Path_] = set()
        for key, value in node.items():
            out |= leaf_paths(value, (*prefix, str(key)))
        return out
    return {prefix}


def get_path(node: Any, path: Path_) -> Any:
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def delete_path(node: dict, path: Path_) -> None:
    parents = []
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            return
        parents.append((node, part))
        node = node[part]
    node.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps emptied by the removal
        if parent[part] == {}:
            del parent[part]


def merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(out.get(key), value)
        return out
    return copy.deepcopy(patch)


def fields_v1(paths: set[Path_]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def normalize_secret(body: dict) -> dict:
    """stringData is write-only: the API server folds it into base64 `data`."""
    if body.get("kind") == "Secret" and body.get("stringData"):
        body = copy.deepcopy(body)
        data = body.setdefault("data", {})
        for key, value in body.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    body.pop("stringData", None)
    return body


@dataclass
class Entry:
    obj: dict
    owners: dict[str, set[Path_]] = field(default_factory=dict)  # manager -> owned paths
    applied: dict[str, dict] = field(default_factory=dict)  # manager -> last applied body
    operations: dict[str, str] = field(default_factory=dict)  # manager -> Apply | Update
    reads_since_change: int = 0


class Store:
    """Thread-safe objects keyed by (group, plural, namespace, name)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.entries: dict[Key, Entry] = {}
        self.resource_version = 1000
        self.writes = 0
        self.auto_ready_after: int | None = None

    def _bump(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def _now(self) -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- reads ------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict:
        with self.lock:
            entry = self.entries.get((rt.group, rt.plural, namespace, name))
            if entry is None:
                raise ApiError(
                    404,
                    "NotFound",
                    f'{rt.plural} "{name}" not found',
                    {"name": name, "kind": rt.plural},
                )
            entry.reads_since_change += 1
            ready_after = self.auto_ready_after
            if ready_after is not None and entry.reads_since_change > ready_after:
                self._make_ready(entry)
            return copy.deepcopy(entry.obj)

    def list_objects(self, rt: ResourceType, namespace: str | None) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(e.obj)
                for (g, p, ns, _), e in sorted(self.entries.items())
                if g == rt.group and p == rt.plural and (namespace is None or ns == namespace)
            ]

    def namespace_exists(self, name: str) -> bool:
        return ("", "namespaces", "", name) in self.entries

    # -- writes -----------------------------------------------------------------------------

    def apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: dict,
        manager: str,
        *,
        force: bool,
        dry_run: bool,
        operation: str = "Apply",
    ) -> tuple[dict, int]:
        """Server-side apply (operation Apply) or a merge patch (operation Update)."""
        with self.lock:
            key = (rt.group, rt.plural, namespace, name)
            if rt.namespaced and not self.namespace_exists(namespace):
                raise ApiError(
                    404,
                    "NotFound",
                    f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"},
                )
            entry = self.entries.get(key)
            if entry is None and operation != "Apply":
                raise ApiError(404, "NotFound", f'{rt.plural} "{name}" not found')
            body = normalize_secret(copy.deepcopy(body))
            body.pop("status", None)
            body.setdefault("metadata", {}).pop("managedFields", None)
            body["metadata"].pop("resourceVersion", None)
            live = copy.deepcopy(entry.obj) if entry else {}
            owners = {m: set(p) for m, p in (entry.owners if entry else {}).items()}
            paths = leaf_paths(body) - _IGNORED_FOR_OWNERSHIP
            conflicts = []
            for other, owned in owners.items():
                if other == manager:
                    continue
                for path in paths & owned:
                    if get_path(live, path) != get_path(body, path):
                        conflicts.append((other, path))
            if conflicts and not force and operation == "Apply":
                text = "; ".join(f'conflict with "{m}": .{".".join(p)}' for m, p in conflicts)
                raise ApiError(
                    409,
                    "Conflict",
                    f"Apply failed with {len(conflicts)} "
                    f"conflict{'s' if len(conflicts) > 1 else ''}: {text}",
                )
            for other in owners:
                if other != manager:
                    owners[other] -= paths
            candidate = copy.deepcopy(live)
            if operation == "Apply":
                previous = owners.get(manager, set())
                still_owned = set().union(*(p for m, p in owners.items() if m != manager))
                for path in previous - paths - still_owned:
                    delete_path(candidate, path)
                owners[manager] = paths
            else:
                owners[manager] = owners.get(manager, set()) | paths
            candidate = merge(candidate, body)
            candidate["apiVersion"], candidate["kind"] = rt.api_version, rt.kind
            owners = {m: p for m, p in owners.items() if p}
            created = entry is None
            if created:
                self._defaults(rt, candidate, namespace)
            candidate["metadata"]["managedFields"] = self._managed_fields(
                rt, owners, entry, operation, manager
            )
            if not created and _same(candidate, entry.obj):  # type: ignore[union-attr]
                return copy.deepcopy(entry.obj), 200  # type: ignore[union-attr]
            meta = candidate["metadata"]
            if not created and _spec_changed(entry.obj, candidate):  # type: ignore[union-attr]
                meta["generation"] = int(meta.get("generation", 1)) + 1
            if dry_run:
                return candidate, 201 if created else 200
            meta["resourceVersion"] = self._bump()
            self.writes += 1
            new_entry = Entry(
                obj=candidate,
                owners=owners,
                operations={**(entry.operations if entry else {}), manager: operation},
            )
            self.entries[key] = new_entry
            if created and rt.kind == "StatefulSet":
                self._claims_for(candidate, namespace)
            return copy.deepcopy(candidate), 201 if created else 200

    def delete(self, rt: ResourceType, namespace: str, name: str, *, dry_run: bool) -> dict:
        with self.lock:
            key = (rt.group, rt.plural, namespace, name)
            entry = self.entries.get(key)
            if entry is None:
                raise ApiError(
                    404,
                    "NotFound",
                    f'{rt.plural} "{name}" not found',
                    {"name": name, "kind": rt.plural},
                )
            if not dry_run:
                del self.entries[key]
                self.writes += 1
                self._bump()
                if rt.kind == "Namespace":  # namespace deletion takes its contents along
                    for other in [k for k in self.entries if k[2] == name]:
                        del self.entries[other]
            return entry.obj

    def put_raw(self, rt: ResourceType, obj: dict) -> None:
        """Store an object as a controller would (tests seed StorageClasses with it)."""
        with self.lock:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta["resourceVersion"] = self._bump()
            key = (rt.group, rt.plural, meta.get("namespace", ""), meta["name"])
            self.entries[key] = Entry(obj=obj)

    # -- helpers ----------------------------------------------------------------------------

    def _managed_fields(
        self,
        rt: ResourceType,
        owners: dict[str, set[Path_]],
        entry: Entry | None,
        operation: str,
        manager: str,
    ) -> list[dict]:
        ops = {**(entry.operations if entry else {}), manager: operation}
        old_times = (
            {m["manager"]: m["time"] for m in (entry.obj["metadata"].get("managedFields") or [])}
            if entry
            else {}
        )
        out = []
        for name, paths in sorted(owners.items()):
            out.append(
                {
                    "manager": name,
                    "operation": ops.get(name, "Update"),
                    "apiVersion": rt.api_version,
                    "fieldsType": "FieldsV1",
                    "time": old_times.get(name, self._now()),
                    "fieldsV1": fields_v1(paths),
                }
            )
        return out

    def _defaults(self, rt: ResourceType, obj: dict, namespace: str) -> None:
        meta = obj["metadata"]
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=self._now(), generation=1)
        if rt.namespaced:
            meta["namespace"] = namespace
        spec = obj.get("spec")
        if rt.kind in ("Deployment", "StatefulSet") and isinstance(spec, dict):
            spec.setdefault("replicas", 1)  # defaulted: the HPA's to change, nobody's to own
            obj["status"] = {"observedGeneration": 0, "replicas": 0, "readyReplicas": 0}
        if rt.kind == "Service" and isinstance(spec, dict) and "clusterIP" not in spec:
            spec["clusterIP"] = f"10.96.{self.resource_version % 250}.{len(self.entries) % 250}"
        if rt.kind == "PersistentVolumeClaim":
            if isinstance(spec, dict):
                spec.setdefault("storageClassName", "standard")
            obj["status"] = {"phase": "Pending"}
        if rt.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj["status"] = {"phase": "Active"}

    def _claims_for(self, sts: dict, namespace: str) -> None:
        """What the StatefulSet controller does: one PVC per template and replica."""
        rt = next(r for r in RESOURCE_TYPES if r.kind == "PersistentVolumeClaim")
        replicas = int(sts["spec"].get("replicas", 1))
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            for index in range(replicas):
                name = f"{template['metadata']['name']}-{sts['metadata']['name']}-{index}"
                if (rt.group, rt.plural, namespace, name) in self.entries:
                    continue
                claim = {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "labels": dict(template["metadata"].get("labels") or {}),
                    },
                    "spec": copy.deepcopy(template["spec"]),
                    "status": {"phase": "Pending"},
                }
                self.put_raw(rt, claim)

    def _make_ready(self, entry: Entry) -> None:
        obj = entry.obj
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        generation = obj["metadata"].get("generation", 1)
        replicas = int(spec.get("replicas", 1))
        if kind == "Deployment":
            status = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }
        elif kind == "StatefulSet":
            revision = f"{obj['metadata']['name']}-{generation}"
            status = {
                "observedGeneration": generation,
                "replicas": replicas,
                "readyReplicas": replicas,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "availableReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            }
            ns = obj["metadata"]["namespace"]
            for key, other in self.entries.items():
                if (
                    key[1] == "persistentvolumeclaims"
                    and key[2] == ns
                    and key[3].endswith(f"-{obj['metadata']['name']}-0")
                ):
                    other.obj["status"] = {"phase": "Bound"}
        elif kind == "PersistentVolumeClaim":
            status = {"phase": "Bound"}
        else:
            return
        if obj.get("status") != status:
            obj["status"] = status

    def mark_ready(self, kind: str | None = None) -> None:
        """Make every Deployment/StatefulSet ready and every PVC bound (or only `kind`)."""
        with self.lock:
            for entry in self.entries.values():
                if kind is None or entry.obj.get("kind") == kind:
                    self._make_ready(entry)


def _strip(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    meta = obj.get("metadata", {})
    meta.pop("resourceVersion", None)
    for entry in meta.get("managedFields") or []:
        entry.pop("time", None)
    return obj


def _same(a: dict, b: dict) -> bool:
    return _strip(a) == _strip(b)


def _spec_changed(old: dict, new: dict) -> bool:
    def body(o: dict) -> dict:
        return {k: v for k, v in o.items() if k not in ("metadata", "status")}

    return body(old) != body(new)
