"""`sphinxctl infra ...` end to end through the CLI, against the real kube-apiserver of the
test control plane (a namespace per test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from tests.support.infra_env import ENVIRON, contains_secret, project_copy
from tests.support.k8s_control_plane import ControlPlane
from tests.support.k8s_fault_proxy import FaultProxy
from tests.support.k8s_fixtures import Cluster

LOCAL_JWT = "local-development-secret-not-for-production-use"


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Path:
    for name, value in ENVIRON.items():
        clean_env.setenv(name, value)
    return project_copy(tmp_path / "project")


@pytest.fixture
def namespaced(project: Path, k8s_namespace: str, clean_env: pytest.MonkeyPatch) -> Path:
    """The project, with the stack going to the test's own namespace."""
    clean_env.setenv("SPHINXCTL_KUBERNETES__NAMESPACE", k8s_namespace)
    return project


def run_cli(project: Path, *args: str, env: str = "mainnet") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["--config-dir", str(project / "environments"), "-e", env, "infra", *args]
    )
    return result.exit_code, result.stdout, result.stderr


def at(kubeconfig: Path) -> list[str]:
    return ["--kubeconfig", str(kubeconfig)]


@pytest.mark.parametrize("env", ["local", "testnet", "mainnet"])
def test_render_prints_yaml_without_secret_values(project: Path, env: str) -> None:
    code, out, _ = run_cli(project, "render", env=env)
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert docs[0]["kind"] == "Namespace" and len(docs) > 30
    assert contains_secret(out) == [] and LOCAL_JWT not in out


def test_render_needs_no_secret_and_lint_passes(
    project: Path, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.delenv("SPHINX_JWT_SECRET")
    clean_env.delenv("DATABASE_URL")
    code, out, err = run_cli(project, "render", "--lint")
    assert code == 0, err
    assert "no errors" in err
    code, out, _ = run_cli(project, "-o", "json", "render", "--lint")
    body = json.loads(out)
    assert body["environment"] == "mainnet" and body["findings"] == []


def test_render_lint_errors_exit_3(project: Path) -> None:
    path = project / "manifests" / "api.yaml"
    path.write_text(path.read_text().replace("${api_image}", "ghcr.io/sphinx/api:latest"))
    code, _, err = run_cli(project, "render", "--lint")
    assert code == 3
    assert "image-tag" in err and "checks-failed" in err


@pytest.mark.integration
def test_up_status_history_diff_rollback_down(
    namespaced: Path, kubeconfig: Path, cluster: Cluster
) -> None:
    project = namespaced
    cluster.provide_volumes(["data-postgres-0", "data-redis-0", "postgres-backups"])
    outputs: list[str] = []

    def run(project: Path, *args: str) -> tuple[int, str, str]:
        code, out, err = run_cli(project, *args)
        outputs.extend((out, err))
        return code, out, err

    code, out, err = run(project, "up", "--wait", "--timeout", "120", *at(kubeconfig))
    assert code == 0, err
    assert "revision 1 recorded" in out
    assert "apply" in err and "recorded revision 1" in err

    code, out, _ = run(project, "up", *at(kubeconfig))
    assert code == 0 and "nothing changed; revision 1 is current" in out

    code, out, _ = run(project, "-o", "json", "status", *at(kubeconfig))
    status = json.loads(out)
    assert code == 0 and status["revision"] == 1
    assert all(o["ready"] for o in status["objects"])

    code, out, _ = run(project, "diff", *at(kubeconfig))
    assert code == 0 and "unchanged" in out

    code, _, err = run(project, "rollback", *at(kubeconfig))
    assert code == 2 and "nothing to roll back to" in err

    manifests = project / "manifests" / "api.yaml"
    manifests.write_text(
        manifests.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 4")
    )
    code, out, _ = run(project, "diff", *at(kubeconfig))
    assert "-  revisionHistoryLimit: 5" in out and "+  revisionHistoryLimit: 4" in out
    assert run(project, "up", *at(kubeconfig))[0] == 0

    code, out, _ = run(project, "history", *at(kubeconfig))
    assert code == 0 and "superseded" in out and "deployed" in out
    code, out, _ = run(project, "history", "--show", "1", *at(kubeconfig))
    assert code == 0 and "kind: Deployment" in out and "********" in out
    assert contains_secret(out) == []

    code, out, err = run(project, "-o", "json", "rollback", "--to", "1", *at(kubeconfig))
    assert code == 0, err
    assert json.loads(out)["revision"] == 3

    code, _, err = run(project, "down", *at(kubeconfig))
    assert code == 2 and "confirmation" in err
    code, out, _ = run(project, "down", "--yes", *at(kubeconfig))
    assert code == 0 and "volume kept" in out
    assert cluster.get("apps/v1", "deployments", "sphinx-api") is None
    assert cluster.get("v1", "persistentvolumeclaims", "postgres-backups") is not None
    assert contains_secret("".join(outputs)) == [] and len(outputs) == 24


@pytest.mark.integration
def test_dry_run_reports_without_writing(
    namespaced: Path, fault_proxy: FaultProxy, proxied_kubeconfig: Path
) -> None:
    code, out, _ = run_cli(namespaced, "-o", "json", "up", "--dry-run", *at(proxied_kubeconfig))
    assert code == 0
    body = json.loads(out)
    assert body["dry_run"] is True and body["revision"] is None
    assert fault_proxy.writes() == []


@pytest.mark.integration
def test_persistent_server_errors_exit_5_with_a_clear_message(
    namespaced: Path, fault_proxy: FaultProxy, proxied_kubeconfig: Path
) -> None:
    fault_proxy.inject(500, method="PATCH", times=100)
    code, _, err = run_cli(namespaced, "up", *at(proxied_kubeconfig))
    assert code == 5
    assert "HTTP 500" in err and "after 5 attempts" in err
    assert contains_secret(err) == []


@pytest.mark.integration
def test_unknown_template_key_exits_2_and_a_conflict_is_taken_with_force(
    namespaced: Path, kubeconfig: Path, cluster: Cluster
) -> None:
    redis = namespaced / "manifests" / "redis.yaml"
    original = redis.read_text()
    redis.write_text(
        original.replace("  serviceName: redis\n", "  serviceName: redis\n  shards: 2\n")
    )
    code, _, err = run_cli(namespaced, "up", *at(kubeconfig))
    assert code == 2 and "manifest-unknown-field" in err and ".spec.shards" in err
    redis.write_text(original)
    assert run_cli(namespaced, "up", *at(kubeconfig))[0] == 0
    edit = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sphinx-api-config"},
            "data": {"mainnet.yaml": "edited: by hand"}}  # fmt: skip
    cluster.apply("v1", "configmaps", edit, "kubectl-edit")
    code, out, _ = run_cli(namespaced, "diff", *at(kubeconfig))
    assert code == 0 and "1 conflict" in out and 'conflict with "kubectl-edit"' in out
    code, _, err = run_cli(namespaced, "up", *at(kubeconfig))
    assert code == 5 and "--force-conflicts" in err
    assert run_cli(namespaced, "up", "--force-conflicts", *at(kubeconfig))[0] == 0
    live = cluster.get("v1", "configmaps", "sphinx-api-config")
    assert live["data"]["mainnet.yaml"] != "edited: by hand"


@pytest.mark.integration
def test_bad_context_and_missing_secrets_are_reported(
    project: Path, kubeconfig: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(project, "status", "--context", "nope", *at(kubeconfig))
    assert code == 5 and "kubeconfig-invalid" in err
    clean_env.delenv("DATABASE_URL")
    code, _, err = run_cli(project, "up", *at(kubeconfig), env="local")
    assert code == 2 and "database.url#password" in err


@pytest.mark.integration
def test_kubeconfig_and_context_come_from_settings(
    namespaced: Path, control_plane: ControlPlane, kubeconfig: Path,
    clean_env: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    clean_env.setenv("SPHINXCTL_KUBERNETES__KUBECONFIG", str(kubeconfig))
    clean_env.setenv("SPHINXCTL_KUBERNETES__CONTEXT", "test")
    code, out, err = run_cli(namespaced, "-o", "json", "status")
    assert code == 0, err
    assert json.loads(out)["server"] == control_plane.server
