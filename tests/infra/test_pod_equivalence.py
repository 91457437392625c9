"""The API pod as `infra up` renders it, run with podman exactly as the kubelet would (image by
digest, args, envFrom Secret, every ConfigMap/Secret key as files at its mountPath, read-only
root, non-root user) against a devnet, Redis and PostgreSQL on loopback: ready, it mints and
pauses; without any one of its mounts or Secret keys it is not ready and says why."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sphinxctl.infra.render import Sources, render_objects
from sphinxctl.infra.secret_values import reveal
from tests.support.api_env import DevnetProject, auth, load, tokens_for, write_config
from tests.support.pod_runner import PodContainer, RunningContainer, built_image, find, podman_env
from tests.support.ports import free_port
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(scope="module")
def image() -> dict[str, Any]:
    return built_image()


@pytest.fixture(scope="module")
def stack(image: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A deployed devnet, Redis and PostgreSQL, and the stack rendered for them (revealed)."""
    with RedisServer() as redis, PostgresServer() as pg:
        devnet = DevnetProject(redis.url)
        try:
            devnet.start()
            port = free_port()
            config = json.loads(json.dumps(devnet.config))
            config["api"]["port"] = port
            config["api"].pop("metrics_port", None)
            config["database"] = {"url": pg.create_database()}
            config["kubernetes"]["image"] = image["ref"]
            settings = load(write_config(devnet.root, config))
            sources = Sources(
                manifests_dir=ROOT / "manifests",
                alert_rules_dir=ROOT / "alert_rules",
                dashboards_dir=ROOT / "manifests" / "grafana" / "dashboards",
                project_root=devnet.root,
            )
            objects = reveal(render_objects(settings, sources), settings)
            _migrate(objects)
            yield {"objects": objects, "port": port, "devnet": devnet, "settings": settings}
        finally:
            devnet.destroy()


def _migrate(objects: list[dict[str, Any]]) -> None:
    """The stack's migration Job, run as the cluster would before the API pods get ready."""
    job = next(o for o in objects if o["kind"] == "Job")
    pod = PodContainer(objects, "Job", job["metadata"]["name"], "migrate")
    with RunningContainer(pod, 0) as run:
        assert run.wait_exit() == 0, run.logs()


def _run(stack: dict[str, Any], **drop: Any) -> RunningContainer:
    pod = PodContainer(stack["objects"], "Deployment", "sphinx-api", "api", **drop)
    return RunningContainer(pod, stack["port"])


def test_image_is_referenced_by_digest_and_matches_the_checkout(
    image: dict[str, Any], stack: dict[str, Any]
) -> None:
    from sphinxctl import __version__

    container = find(stack["objects"], "Deployment", "sphinx-api")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["image"] == image["ref"]
    assert "@sha256:" in container["image"]
    out = subprocess.run(
        ["podman", "run", "--rm", "--read-only", container["image"], "--version"],
        capture_output=True, text=True, env=podman_env(), check=True, timeout=120,
    )  # fmt: skip
    assert out.stdout.strip() == f"sphinxctl {__version__}"


def test_rendered_pod_is_ready_runs_non_root_read_only_and_mints_and_pauses(
    stack: dict[str, Any],
) -> None:
    devnet: DevnetProject = stack["devnet"]
    tokens = tokens_for(stack["settings"], devnet.root)
    with _run(stack) as pod, devnet.snapshot():
        ready = pod.wait_http("/health/ready")
        assert ready is not None, pod.logs()
        assert ready.status_code == 200, ready.text
        assert pod.exec("id", "-u").strip() == "10001"
        assert "Read-only file system" in pod.exec("touch", "/opt/sphinx/x")

        api = httpx.Client(base_url=pod.url, timeout=60)
        minted = api.post(
            "/api/v1/nfts/ethereum/mint",
            headers=auth(tokens["minter"]),
            json={"recipient": ALICE, "phi_score": 618},
        )
        assert minted.status_code in (200, 201), minted.text
        paused = api.post(
            "/api/v1/admin/ethereum/SpaceFlightNFT/pause", headers=auth(tokens["admin"])
        )
        assert paused.status_code in (200, 202), paused.text
        refused = api.post(
            "/api/v1/nfts/ethereum/mint",
            headers=auth(tokens["minter"]),
            json={"recipient": ALICE, "phi_score": 700},
        )
        assert refused.status_code >= 400


@pytest.mark.parametrize(
    ("mount", "named"),
    [("deployment", "contracts"), ("contracts", "abis")],
)
def test_without_a_data_mount_the_pod_is_not_ready_and_names_it(
    stack: dict[str, Any], mount: str, named: str
) -> None:
    admin = tokens_for(stack["settings"], stack["devnet"].root)["admin"]
    with _run(stack, drop_mount=mount) as pod:
        ready = pod.wait_http("/health/ready")
        assert ready is not None, pod.logs()
        # The probe gets a bare status; the report naming what is missing is for admins only.
        assert ready.status_code == 503 and ready.json() == {"ready": False}
        report = httpx.get(pod.url + "/health/ready", headers=auth(admin), timeout=30)
        assert report.status_code == 503
        assert any(f.startswith(named) for f in report.json()["failed"]), report.json()


def test_without_its_config_mount_the_pod_never_starts_and_says_why(
    stack: dict[str, Any],
) -> None:
    with _run(stack, drop_mount="config") as pod:
        assert pod.wait_http("/health") is None
        assert "local.yaml" in pod.logs() or "environment" in pod.logs().lower()


def _secret_keys(stack: dict[str, Any]) -> list[str]:
    return sorted(find(stack["objects"], "Secret", "sphinx-api-env")["stringData"])


def test_each_secret_key_is_needed(stack: dict[str, Any]) -> None:
    """Without any one required key the pod is not ready and its log names the variable."""
    keys = [k for k in _secret_keys(stack) if k != "SPHINX_SENTRY_DSN"]  # optional by design
    assert {"SPHINX_API_SIGNER_KEY", "SPHINX_API_MINTER_KEY", "SPHINX_DATABASE_URL"} <= set(keys)
    for key in keys:
        with _run(stack, drop_key=("sphinx-api-env", key)) as pod:
            answer = pod.wait_http("/health/ready")
            if answer is not None:
                assert answer.status_code == 503, f"{key}: {answer.text}"
            else:
                assert key in pod.logs(), f"{key}: {pod.logs()[-2000:]}"
