"""`sphinxctl infra rollout` refusals and read-only views through the CLI, against the real
test control plane (a namespace per test, writes seen through the fault proxy; no Prometheus
needed: none of these reaches an analysis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from sphinxctl.infra.apply import up
from sphinxctl.infra.rollout_state import RECORD_NAME
from tests.support.infra_env import ENVIRON, image_ref, project_copy, settings_for, stack_for
from tests.support.k8s_fault_proxy import FaultProxy
from tests.support.k8s_fixtures import Cluster
from tests.support.ports import free_port

pytestmark = pytest.mark.integration
STABLE_IMAGE = image_ref("0.1.0")


@pytest.fixture
def kubeconfig(proxied_kubeconfig: Path) -> Path:
    """The cluster through the fault proxy; nothing deployed in the test's namespace."""
    return proxied_kubeconfig


@pytest.fixture
def deployed(proxied_kubeconfig: Path, k8s_namespace: str) -> Path:
    """The stack deployed in the test's namespace; the kubeconfig goes through the proxy."""
    settings = settings_for("testnet")
    settings.kubernetes.namespace = k8s_namespace
    with stack_for(settings, proxied_kubeconfig) as ctx:
        up(ctx)
    return proxied_kubeconfig


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch, k8s_namespace: str) -> Path:
    """testnet secrets set; no DATABASE_URL, so the audit trail is the project's SQLite file."""
    for name, value in ENVIRON.items():
        if name != "DATABASE_URL":
            clean_env.setenv(name, value)
    clean_env.setenv("SPHINXCTL_KUBERNETES__NAMESPACE", k8s_namespace)
    return project_copy(tmp_path / "project")


def rollout(project: Path, kubeconfig: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["--config-dir", str(project / "environments"), "-e", "testnet", "infra", "rollout",
         *args, "--kubeconfig", str(kubeconfig)],
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def test_status_without_a_rollout(project: Path, kubeconfig: Path) -> None:
    code, out, _ = rollout(project, kubeconfig, "status", "-o", "json")
    assert code == 0
    body = json.loads(out)
    assert (body["outcome"], body["rollout"]) == ("status", None)
    assert "no rollout recorded" in body["message"]


def test_starting_needs_an_image_and_a_different_one(project: Path, deployed: Path) -> None:
    code, _, err = rollout(project, deployed, "--yes")
    assert code == 2 and "--image is needed" in err
    code, _, err = rollout(project, deployed, "--yes", "--image", STABLE_IMAGE)
    assert code == 2 and "already the stable image" in err


def test_without_a_stable_deployment_nothing_starts(project: Path, kubeconfig: Path) -> None:
    code, _, err = rollout(project, kubeconfig, "--yes", "--image", image_ref("0.2.0"))
    assert code == 2 and "there is no stable to roll out from" in err


def test_abort_and_promote_without_a_rollout_are_usage_errors(
    project: Path, kubeconfig: Path
) -> None:
    code, _, err = rollout(project, kubeconfig, "abort", "--yes")
    assert code == 2 and "no rollout was ever recorded" in err
    code, _, err = rollout(project, kubeconfig, "promote", "--yes")
    assert code == 2 and "no rollout is in progress" in err


def test_without_a_terminal_and_without_yes_nothing_starts(
    project: Path, kubeconfig: Path, fault_proxy: FaultProxy
) -> None:
    fault_proxy.requests.clear()
    code, _, err = rollout(project, kubeconfig, "--image", image_ref("0.2.0"))
    assert code == 2 and "confirmation" in err
    assert fault_proxy.writes() == []


def test_bad_flags_are_usage_errors(project: Path, kubeconfig: Path) -> None:
    code, _, err = rollout(project, kubeconfig, "--yes", "--image", "x:1", "--pause", "soon")
    assert code == 2 and "--pause" in err
    code, _, err = rollout(project, kubeconfig, "--yes", "--image", "x:1", "--steps", "50,10")
    assert code == 2 and "--steps" in err


def test_an_unrecordable_rollout_never_touches_the_cluster(
    project: Path,
    kubeconfig: Path,
    fault_proxy: FaultProxy,
    cluster: Cluster,
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("DATABASE_URL", f"postgresql://sphinx:pw@127.0.0.1:{free_port()}/sphinx")
    fault_proxy.requests.clear()
    code, _, err = rollout(project, kubeconfig, "--yes", "--image", image_ref("0.2.0"))
    assert code != 0 and "the rollout was not started" in err
    assert fault_proxy.writes() == []
    assert cluster.get("v1", "configmaps", RECORD_NAME) is None


def test_a_rollout_missing_the_stacks_secrets_stops_before_any_change(
    project: Path, deployed: Path, fault_proxy: FaultProxy
) -> None:
    """Promotion re-applies the stack; its secrets are checked before the first step."""
    fault_proxy.requests.clear()
    code, _, err = rollout(project, deployed, "--yes", "--image", image_ref("0.2.0"))
    assert code == 2 and "database.url" in err
    assert fault_proxy.writes() == []
