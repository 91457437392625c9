"""Kubernetes items against the real kube-apiserver of the test control plane: the stack
applied with the infra engineer's `up` and waited for (kwok nodes run its pods), then one
condition broken at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sphinxctl.checks import ChecklistReport, Status
from tests.support.checks_env import (
    assert_only_failure,
    by_id,
    closed_port,
    make_project,
    run_in,
)
from tests.support.k8s_control_plane import ControlPlane
from tests.support.k8s_fixtures import Cluster as Namespace

pytestmark = pytest.mark.integration
NAMESPACE = "checks-sphinx-local"


class Cluster:
    def __init__(self, plane: ControlPlane, project: Path, kubeconfig: Path) -> None:
        self.namespace = Namespace(plane, NAMESPACE)
        self.project = project
        self.kubeconfig = kubeconfig

    def up(self) -> None:
        from sphinxctl.infra.apply import up
        from sphinxctl.settings import load_settings
        from tests.support.infra_env import stack_for

        settings = load_settings("local", self.project / "environments").settings
        with stack_for(settings, self.kubeconfig, self.project) as ctx:
            up(ctx, wait=True, timeout=120)
        self.last_backup(datetime.now(UTC) - timedelta(hours=3))

    def last_backup(self, when: datetime) -> None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.namespace.update_status(
            "batch/v1", "cronjobs", "postgres-backup", {"lastSuccessfulTime": stamp}
        )


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, snapshot: Path, control_plane: ControlPlane
) -> Iterator[Cluster]:
    patch = pytest.MonkeyPatch()
    for name in list(os.environ):
        if name.startswith(("SPHINXCTL_", "SPHINX_")) or name in ("DATABASE_URL", "REDIS_URL"):
            patch.delenv(name)
    for chain in ("ETHEREUM", "POLYGON", "ARBITRUM"):
        url = f'["http://127.0.0.1:{closed_port()}"]'
        patch.setenv(f"SPHINXCTL_CHAINS__{chain}__RPC_URLS", url)
    patch.setenv("SPHINXCTL_REDIS__URL", f"redis://127.0.0.1:{closed_port()}/0")
    patch.setenv("SPHINXCTL_API__BASE_URL", f"http://127.0.0.1:{closed_port()}")
    patch.setenv("DATABASE_URL", f"postgresql://sphinx:pw@127.0.0.1:{closed_port()}/sphinx")
    patch.setenv("SPHINXCTL_KUBERNETES__NAMESPACE", NAMESPACE)
    base = tmp_path_factory.mktemp("checks-cluster")
    try:
        kubeconfig = control_plane.kubeconfig(base / "kubeconfig")
        patch.setenv("SPHINXCTL_KUBERNETES__KUBECONFIG", str(kubeconfig))
        world = Cluster(control_plane, make_project(base / "project", snapshot), kubeconfig)
        world.namespace.provide_volumes(["data-postgres-0", "data-redis-0", "postgres-backups"])
        world.up()
        yield world
    finally:
        patch.undo()
        control_plane.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")


@pytest.fixture(scope="module")
def before(cluster: Cluster) -> ChecklistReport:
    report = run_in(cluster.project)
    results = by_id(report)
    for item in ("INF-001", "INF-002", "INF-003", "BAK-003", "BAK-004"):
        assert results[item].status == Status.PASS, (item, results[item].reason)
    return report


def test_cluster_items_pass_on_the_applied_stack(before: ChecklistReport) -> None:
    assert "match the render" in by_id(before)["INF-003"].reason


def test_unloadable_kubeconfig_fails_only_inf_001(
    cluster: Cluster, before: ChecklistReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHINXCTL_KUBERNETES__KUBECONFIG", str(cluster.project / "missing"))
    after = run_in(cluster.project)
    assert_only_failure(before, after, "INF-001")
    assert by_id(after)["INF-003"].details["blocked_by"] == "INF-001"
    assert by_id(after)["BAK-003"].details["blocked_by"] == "INF-001"


def test_object_missing_from_the_cluster_fails_only_inf_003(
    cluster: Cluster, before: ChecklistReport
) -> None:
    from sphinxctl.infra.client import KubeApi

    with KubeApi.connect(cluster.kubeconfig, None) as api:
        assert api.delete("policy/v1", "PodDisruptionBudget", "sphinx-api", NAMESPACE)
    try:
        after = run_in(cluster.project)
    finally:
        cluster.up()
    assert_only_failure(before, after, "INF-003")
    assert "PodDisruptionBudget" in by_id(after)["INF-003"].reason
    assert "missing" in by_id(after)["INF-003"].reason


def test_stale_backup_fails_only_bak_003(cluster: Cluster, before: ChecklistReport) -> None:
    cluster.last_backup(datetime.now(UTC) - timedelta(days=3))
    try:
        after = run_in(cluster.project)
    finally:
        cluster.last_backup(datetime.now(UTC) - timedelta(hours=3))
    assert_only_failure(before, after, "BAK-003")
    assert "72 h old" in by_id(after)["BAK-003"].reason
