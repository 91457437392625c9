"""pytest fixtures for the real control plane: one per test session, a fresh namespace per
test (so tests share the cluster without sharing state), admin kubeconfigs, a fault proxy."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.k8s_control_plane import ControlPlane, ControlPlaneError
from tests.support.k8s_fault_proxy import FaultProxy
from tests.support.real_parts import real_part

_counter = itertools.count(1)


@pytest.fixture(scope="session")
@real_part("kube-apiserver")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = ControlPlane(tmp_path_factory.mktemp("k8s-control-plane"))
    with plane:
        yield plane


@pytest.fixture
def k8s_namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace name no other test uses; deleted (without waiting) afterwards."""
    short = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))[:40]
    name = f"t{next(_counter)}-{short}".rstrip("-")
    yield name
    with contextlib.suppress(ControlPlaneError):  # never created, or already gone
        control_plane.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
def kubeconfig(control_plane: ControlPlane, tmp_path: Path) -> Path:
    """An admin (system:masters) kubeconfig with a client certificate."""
    return control_plane.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def fault_proxy(control_plane: ControlPlane) -> Iterator[FaultProxy]:
    with FaultProxy(control_plane) as proxy:
        yield proxy


@pytest.fixture
def proxied_kubeconfig(
    control_plane: ControlPlane, fault_proxy: FaultProxy, tmp_path: Path
) -> Path:
    """A kubeconfig whose server is the fault proxy in front of the real API server."""
    return control_plane.kubeconfig(tmp_path / "proxied-kubeconfig", server=fault_proxy.server)


class Cluster:
    """Admin reads and writes of one namespace, for arranging and checking tests."""

    def __init__(self, plane: ControlPlane, namespace: str) -> None:
        self.plane = plane
        self.ns = namespace

    @staticmethod
    def _path(api_version: str, plural: str, namespace: str | None, name: str = "") -> str:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        where = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{where}/{plural}" + (f"/{name}" if name else "")

    def get(self, api_version: str, plural: str, name: str, namespace: str | None = "") -> Any:
        ns = self.ns if namespace == "" else namespace
        try:
            return self.plane.request("GET", self._path(api_version, plural, ns, name))
        except ControlPlaneError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise

    def list(self, api_version: str, plural: str, selector: str = "") -> list[dict[str, Any]]:
        query = f"?labelSelector={selector}" if selector else ""
        path = self._path(api_version, plural, self.ns) + query
        return list(self.plane.request("GET", path)["items"])

    def apply(
        self, api_version: str, plural: str, body: dict[str, Any], manager: str, force: bool = True
    ) -> Any:
        """Server-side apply as another field manager (kubectl, an operator...)."""
        name = body["metadata"]["name"]
        query = f"?fieldManager={manager}" + ("&force=true" if force else "")
        return self.plane.request(
            "PATCH",
            self._path(api_version, plural, self.ns, name) + query,
            body,
            content_type="application/apply-patch+yaml",
        )

    def update_status(self, api_version: str, plural: str, name: str, status: dict) -> Any:
        """Merge-patch an object's status (what a controller or kubelet would write)."""
        return self.plane.request(
            "PATCH",
            self._path(api_version, plural, self.ns, name) + "/status",
            {"status": status},
            content_type="application/merge-patch+json",
        )

    def provide_volumes(self, claims: Iterable[str], size: str = "1Ti") -> None:
        """PersistentVolumes pre-bound to the named claims of this namespace (the test
        cluster has no provisioner); the controller-manager binds them."""
        for claim in claims:
            self.plane.request(
                "POST",
                "/api/v1/persistentvolumes",
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {"name": f"{self.ns}-{claim}"[:63]},
                    "spec": {
                        "capacity": {"storage": size},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "hostPath": {"path": f"/tmp/{self.ns}/{claim}"},
                        "claimRef": {"namespace": self.ns, "name": claim},
                    },
                },
            )


@pytest.fixture
def cluster(control_plane: ControlPlane, k8s_namespace: str) -> Cluster:
    return Cluster(control_plane, k8s_namespace)
