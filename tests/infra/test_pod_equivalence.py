"""The API pod as `infra up` renders it, run with podman exactly as the kubelet would (image by
digest, args, envFrom Secret, every ConfigMap/Secret key as files at its mountPath, read-only
root, non-root user) against a devnet, Redis and PostgreSQL on loopback: ready, it mints and
pauses; without any one of its mounts or Secret keys it still starts, is not ready, and names
the missing piece (check names to the probe, the variable in its log)."""

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
from tests.support.pod_runner import (
    PodContainer,
    RunningContainer,
    built_image,
    find,
    object_data,
    podman_env,
)
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


# What each mount of the API container carries, and the readiness check that names it missing.
MOUNT_CHECKS = {"config": "config", "deployment": "contracts", "contracts": "abis", "tmp": "tmp"}


def _secret(stack: dict[str, Any]) -> dict[str, str]:
    return object_data(find(stack["objects"], "Secret", "sphinx-api-env"))


def _check_of(key: str) -> str | None:
    """The readiness check a Secret key feeds (None: optional)."""
    if key.startswith("SPHINX_RPC_"):
        return "chain:" + key.removeprefix("SPHINX_RPC_").rsplit("_", 1)[0].lower()
    if key.startswith("SPHINX_AUTH_KEY_"):
        return "jwt-keys"
    return {
        "SPHINX_DATABASE_URL": "database",
        "SPHINX_REDIS_URL": "redis",
        "SPHINX_API_SIGNER_KEY": "signer-key",
        "SPHINX_API_MINTER_KEY": "minter-key",
        "SPHINX_SENTRY_DSN": None,
    }[key]


def _assert_names_only(stack: dict[str, Any], answer: httpx.Response) -> None:
    """The probe's body is check names: no Secret value, host or error text."""
    assert set(answer.json()) == {"ready", "failed"}, answer.text
    for value in _secret(stack).values():
        if value:
            assert value not in answer.text
    assert "127.0.0.1" not in answer.text and "Error" not in answer.text


def test_without_any_one_mount_the_pod_starts_and_names_it(stack: dict[str, Any]) -> None:
    container = find(stack["objects"], "Deployment", "sphinx-api")["spec"]["template"]["spec"][
        "containers"
    ][0]
    mounts = [m["name"] for m in container["volumeMounts"]]
    assert sorted(mounts) == sorted(MOUNT_CHECKS)  # a new mount needs a check that names it
    for mount in mounts:
        with _run(stack, drop_mount=mount) as pod:
            ready = pod.wait_http("/health/ready")
            assert ready is not None, f"{mount}: the pod did not start\n{pod.logs()[-2000:]}"
            assert ready.status_code == 503, f"{mount}: {ready.text}"
            assert MOUNT_CHECKS[mount] in ready.json()["failed"], f"{mount}: {ready.text}"
            _assert_names_only(stack, ready)
            assert pod.wait_http("/health") is not None  # alive: a restart would not help


def test_without_any_one_secret_key_the_pod_starts_and_names_it(stack: dict[str, Any]) -> None:
    """Each Secret key: the pod runs, /health/ready is 503 naming its check (the optional
    Sentry DSN alone leaves it ready), and the log names the variable once."""
    keys = sorted(_secret(stack))
    assert {"SPHINX_API_SIGNER_KEY", "SPHINX_API_MINTER_KEY", "SPHINX_DATABASE_URL"} <= set(keys)
    assert any(k.startswith("SPHINX_AUTH_KEY_") for k in keys)
    for key in keys:
        check = _check_of(key)
        with _run(stack, drop_key=("sphinx-api-env", key)) as pod:
            ready = pod.wait_http("/health/ready")
            assert ready is not None, f"{key}: the pod did not start\n{pod.logs()[-2000:]}"
            if check is None:
                assert ready.status_code == 200, f"{key}: {ready.text}"
                continue
            assert ready.status_code == 503, f"{key}: {ready.text}"
            assert ready.json()["failed"] == [check], f"{key}: {ready.text}"
            _assert_names_only(stack, ready)
            assert pod.logs().count(key) == 1, f"{key}: {pod.logs()[-2000:]}"
