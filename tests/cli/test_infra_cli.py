"""`sphinxctl infra ...` end to end through the CLI, against the Kubernetes API test server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from tests.support.infra_env import ENVIRON, contains_secret, project_copy
from tests.support.k8s_api_server import KubeApiServer

LOCAL_JWT = "local-development-secret-not-for-production-use"


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Path:
    for name, value in ENVIRON.items():
        clean_env.setenv(name, value)
    return project_copy(tmp_path / "project")


@pytest.fixture
def server() -> Iterator[KubeApiServer]:
    with KubeApiServer() as srv:
        yield srv


@pytest.fixture
def kubeconfig(server: KubeApiServer, tmp_path: Path) -> Path:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


def run_cli(project: Path, *args: str, env: str = "mainnet") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["--config-dir", str(project / "environments"), "-e", env, "infra", *args]
    )
    return result.exit_code, result.stdout, result.stderr


def cluster(kubeconfig: Path) -> list[str]:
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


def test_up_status_history_diff_rollback_down(
    project: Path, server: KubeApiServer, kubeconfig: Path
) -> None:
    server.store.auto_ready_after = 1
    outputs: list[str] = []

    def run(project: Path, *args: str) -> tuple[int, str, str]:
        code, out, err = run_cli(project, *args)
        outputs.extend((out, err))
        return code, out, err

    code, out, err = run(project, "up", "--wait", "--timeout", "30", *cluster(kubeconfig))
    assert code == 0, err
    assert "revision 1 recorded" in out
    assert "apply" in err and "recorded revision 1" in err

    code, out, _ = run(project, "up", *cluster(kubeconfig))
    assert code == 0 and "nothing changed; revision 1 is current" in out

    code, out, _ = run(project, "-o", "json", "status", *cluster(kubeconfig))
    status = json.loads(out)
    assert code == 0 and status["revision"] == 1
    assert all(o["ready"] for o in status["objects"])

    code, out, _ = run(project, "diff", *cluster(kubeconfig))
    assert code == 0 and "unchanged" in out

    code, _, err = run(project, "rollback", *cluster(kubeconfig))
    assert code == 2 and "nothing to roll back to" in err

    manifests = project / "manifests" / "api.yaml"
    manifests.write_text(
        manifests.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 4")
    )
    code, out, _ = run(project, "diff", *cluster(kubeconfig))
    assert "-  revisionHistoryLimit: 5" in out and "+  revisionHistoryLimit: 4" in out
    assert run(project, "up", *cluster(kubeconfig))[0] == 0

    code, out, _ = run(project, "history", *cluster(kubeconfig))
    assert code == 0 and "superseded" in out and "deployed" in out
    code, out, _ = run(project, "history", "--show", "1", *cluster(kubeconfig))
    assert code == 0 and "kind: Deployment" in out and "********" in out
    assert contains_secret(out) == []

    code, out, err = run(project, "-o", "json", "rollback", "--to", "1", *cluster(kubeconfig))
    assert code == 0, err
    assert json.loads(out)["revision"] == 3

    code, _, err = run(project, "down", *cluster(kubeconfig))
    assert code == 2 and "confirmation" in err
    code, out, _ = run(project, "down", "--yes", *cluster(kubeconfig))
    assert code == 0 and "volume kept" in out
    assert server.find("Deployment", "sphinx-api", "sphinx") is None
    assert server.find("PersistentVolumeClaim", "postgres-backups", "sphinx") is not None
    assert contains_secret("".join(outputs)) == [] and len(outputs) == 24


def test_dry_run_reports_without_writing(
    project: Path, server: KubeApiServer, kubeconfig: Path
) -> None:
    code, out, _ = run_cli(project, "-o", "json", "up", "--dry-run", *cluster(kubeconfig))
    assert code == 0
    body = json.loads(out)
    assert body["dry_run"] is True and body["revision"] is None
    assert server.store.writes == 0


def test_persistent_server_errors_exit_5_with_a_clear_message(
    project: Path, server: KubeApiServer, kubeconfig: Path
) -> None:
    server.inject(500, method="PATCH", times=100)
    code, _, err = run_cli(project, "up", *cluster(kubeconfig))
    assert code == 5
    assert "HTTP 500" in err and "after 5 attempts" in err
    assert contains_secret(err) == []


def test_bad_context_and_missing_secrets_are_reported(
    project: Path, kubeconfig: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(project, "status", "--context", "nope", *cluster(kubeconfig))
    assert code == 5 and "kubeconfig-invalid" in err
    clean_env.delenv("DATABASE_URL")
    code, _, err = run_cli(project, "up", *cluster(kubeconfig), env="local")
    assert code == 2 and "database.url#password" in err


def test_kubeconfig_and_context_come_from_settings(
    project: Path, server: KubeApiServer, kubeconfig: Path, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("SPHINXCTL_KUBERNETES__KUBECONFIG", str(kubeconfig))
    clean_env.setenv("SPHINXCTL_KUBERNETES__CONTEXT", "test")
    code, out, err = run_cli(project, "-o", "json", "status")
    assert code == 0, err
    assert json.loads(out)["server"] == server.url
