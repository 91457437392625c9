"""`serve` with a piece of its configuration missing: it starts, /health/ready answers 503
naming the missing check (names only), and its log names the variable once.

The rendered pod's own environment file and Secret are used, so every Secret key the stack
renders is covered (the podman test in tests/infra/test_pod_equivalence.py does the same
through the real image)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sphinxctl.api.preflight import Problem, check_for, failed_checks, preflight, unready_app
from sphinxctl.infra.render import Sources, render_objects
from sphinxctl.infra.secret_values import reveal
from tests.support.api_env import base_config, link_project, load, write_config
from tests.support.pod_runner import find, object_data
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = "postgresql+psycopg://sphinx:pod-db-password@127.0.0.1:1/sphinx"


@pytest.fixture(scope="module")
def pod_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The rendered pod's config directory (project root layout) and its Secret's keys."""
    source = tmp_path_factory.mktemp("source")
    link_project(source)
    config = base_config("redis://127.0.0.1:1/0")
    config["database"] = {"url": DATABASE_URL}
    # anvil's public dev account 1 (a devnet-only key)
    config["api"]["signer_key"] = (
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    )
    settings = load(write_config(source, config))
    objects = reveal(render_objects(settings, Sources.under(ROOT)), settings)
    pod = tmp_path_factory.mktemp("pod")
    (pod / "environments").mkdir()
    for name, text in object_data(find(objects, "ConfigMap", "sphinx-api-config")).items():
        (pod / "environments" / name).write_text(text)
    return pod, object_data(find(objects, "Secret", "sphinx-api-env"))


def _expected(key: str) -> str | None:
    if key.startswith("SPHINX_RPC_"):
        return "chain:" + key.removeprefix("SPHINX_RPC_").rsplit("_", 1)[0].lower()
    if key.startswith("SPHINX_AUTH_KEY_"):
        return "jwt-keys"
    return {
        "SPHINX_DATABASE_URL": "database",
        "SPHINX_REDIS_URL": "redis",
        "SPHINX_API_SIGNER_KEY": "signer-key",
        "SPHINX_API_MINTER_KEY": "minter-key",
        "SPHINX_SENTRY_DSN": None,  # optional by design
    }[key]


def test_the_complete_pod_configuration_has_no_problem(
    pod_files: tuple[Path, dict[str, str]],
) -> None:
    root, secret = pod_files
    settings, problems = preflight("local", root / "environments", root, secret)
    assert problems == [] and settings is not None
    assert settings.database.url is not None


def test_each_missing_secret_key_names_its_check(pod_files: tuple[Path, dict[str, str]]) -> None:
    root, secret = pod_files
    assert {"SPHINX_API_SIGNER_KEY", "SPHINX_API_MINTER_KEY", "SPHINX_DATABASE_URL"} <= set(secret)
    assert any(k.startswith("SPHINX_RPC_") for k in secret)
    assert any(k.startswith("SPHINX_AUTH_KEY_") for k in secret)
    for key in secret:
        environ = {k: v for k, v in secret.items() if k != key}
        _, problems = preflight("local", root / "environments", root, environ)
        expected = _expected(key)
        assert failed_checks(problems) == ([expected] if expected else []), key
        for problem in problems:
            assert key in problem.reason  # the log names the variable ...
            assert all(v not in problem.reason for v in secret.values() if v)  # ... never a value


def test_a_missing_environment_file_or_an_unusable_key_is_named(
    pod_files: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, secret = pod_files
    settings, problems = preflight("local", tmp_path / "environments", tmp_path, secret)
    assert settings is None and failed_checks(problems) == ["config"]
    bad = {**secret, "SPHINX_API_MINTER_KEY": "0x" + "00" * 32}  # not a secp256k1 key
    _, problems = preflight("local", root / "environments", root, bad)
    assert failed_checks(problems) == ["minter-key"]
    assert "0x" + "00" * 32 not in problems[0].reason


def test_missing_variables_map_to_their_checks() -> None:
    assert check_for("chains.arbitrum.rpc_urls[1]") == "chain:arbitrum"
    assert check_for("auth.keys[0].secret") == "jwt-keys"
    assert check_for("database.url") == "database"
    assert check_for("api.guardian_key") == "guardian-key"
    assert check_for("monitoring.receivers.webhook_url") == "config"


def test_the_unready_app_serves_health_names_and_nothing_else() -> None:
    problems = [
        Problem(check="signer-key", reason="environment variable SPHINX_API_SIGNER_KEY is not set"),
        Problem(check="database", reason="environment variable SPHINX_DATABASE_URL is not set"),
    ]
    with TestClient(unready_app(problems)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {"ready": False, "failed": ["database", "signer-key"]}
        refused = client.post("/api/v1/nfts/ethereum/mint", json={})
        assert refused.status_code == 503 and refused.json()["error"] == "not-configured"
        assert "SPHINX_" not in refused.text
        assert client.get("/metrics").status_code == 200


@pytest.mark.integration
def test_serve_with_a_missing_jwt_key_starts_and_names_it_once(
    pod_files: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """A real `sphinxctl serve` process: the JWT key is missing, so auth cannot work."""
    root, secret = pod_files
    shutil.copytree(root / "environments", tmp_path / "environments")
    key = next(k for k in secret if k.startswith("SPHINX_AUTH_KEY_"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SPHINX")}
    environ.update({k: v for k, v in secret.items() if k != key})
    port = free_port()
    sphinxctl = str(Path(sys.executable).parent / "sphinxctl")
    argv = [sphinxctl, "--config-dir", "environments", "-e", "local",
            "serve", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=tmp_path, env=environ, stdout=out, stderr=out)
    try:
        answer = _wait(f"http://127.0.0.1:{port}/health/ready", process)
        assert answer is not None, log.read_text()
        assert answer.status_code == 503
        assert answer.json() == {"ready": False, "failed": ["jwt-keys"]}
        assert log.read_text().count(key) == 1, log.read_text()
        assert secret[key] not in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(url: str, process: subprocess.Popen[Any], timeout: float = 60) -> httpx.Response | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    return None
