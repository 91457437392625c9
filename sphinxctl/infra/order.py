"""Helm's install order (and its reverse for delete), and which kinds are cluster-scoped."""

from __future__ import annotations

from typing import Any

# The order Helm installs kinds in (helm/pkg/release/util/kind_sorter.go, InstallOrder).
INSTALL_ORDER: tuple[str, ...] = (
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_RANK = {kind: index for index, kind in enumerate(INSTALL_ORDER)}

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "PriorityClass",
        "StorageClass",
        "PersistentVolume",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "IngressClass",
        "APIService",
    }
)


def kind_rank(kind: str) -> int:
    """Position of `kind` in the install order; unknown kinds go last (as in Helm)."""
    return _RANK.get(kind, len(INSTALL_ORDER))


def install_sorted(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in install order; stable, so objects of one kind keep their template order."""
    return sorted(objects, key=lambda o: kind_rank(str(o.get("kind", ""))))


def delete_sorted(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in the reverse of the install order."""
    return list(reversed(install_sorted(objects)))


def group_kind(api_version: str, kind: str) -> str:
    """`Kind.group` as ApplySet annotations spell it (`Kind` for the core group)."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return f"{kind}.{group}" if group else kind
