"""Plumbing for the API tests: a private devnet project, tokens per role, live servers.

`DevnetProject` is a temporary project root (environments/local.yaml copied from the real one
with free ports, contracts/ and node_modules/ linked, build/ copied so the compile is cached)
on which `sphinxctl`'s own devnet and deploy functions start two anvil nodes and deploy the
platform. `LiveServer` runs an app under uvicorn in a thread on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("admin", "operator", "minter", "viewer")
CHAINS = ("ethereum", "polygon")


def write_config(root: Path, config: dict[str, Any]) -> Path:
    directory = root / "environments"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "local.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return directory


def base_config(
    redis_url: str, *, chains: tuple[str, ...] = CHAINS, database_url: str | None = None
) -> dict[str, Any]:
    """environments/local.yaml with free devnet ports, our Redis and generous rate limits."""
    config: dict[str, Any] = yaml.safe_load((ROOT / "environments" / "local.yaml").read_text())
    config["chains"] = {name: config["chains"][name] for name in chains}
    for chain in config["chains"].values():
        port = free_port()
        chain["devnet_port"] = port
        chain["rpc_urls"] = [f"http://127.0.0.1:{port}"]
    config["deployer"] = {}  # the anvil key comes from the file's default below
    config["deployer"]["private_key"] = (
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    )
    config["redis"] = {"url": redis_url, "failure_mode": "local"}
    config["api"]["default_rate_limit"] = {"capacity": 100000, "refill_per_second": 10000}
    config["api"]["rate_limits"] = {}
    config["auth"]["keys"][0]["secret"] = "api-tests-secret-" + "x" * 32
    config["database"] = {"sqlite_path": ".sphinxctl/api.db"}
    if database_url:
        config["database"]["url"] = database_url
    config["devnet"] = {"state_dir": ".sphinxctl/devnet"}
    return config


def link_project(root: Path) -> None:
    """contracts/ and node_modules/ linked from the repository, build/ copied (cache hit)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("contracts", "node_modules"):
        target = root / name
        if not target.exists():
            target.symlink_to(ROOT / name)
    if (ROOT / "build" / "artifacts").exists() and not (root / "build").exists():
        shutil.copytree(ROOT / "build" / "artifacts", root / "build" / "artifacts")


def load(config_dir: Path) -> Any:
    from sphinxctl.settings import load_settings

    return load_settings("local", config_dir).settings


class DevnetProject:
    """A temporary project with a running, deployed two-chain devnet."""

    def __init__(self, redis_url: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sphinx-api-"))
        link_project(self.root)
        self.config = base_config(redis_url)
        self.config_dir = write_config(self.root, self.config)
        self.settings = load(self.config_dir)

    def start(self) -> DevnetProject:
        from sphinxctl.chains.devnet import devnet_up
        from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts
        from sphinxctl.solidity.compiler import compile_contracts

        compile_contracts(ROOT)  # cached in the repository's build/
        if not (self.root / "build" / "artifacts").exists():
            shutil.copytree(ROOT / "build" / "artifacts", self.root / "build" / "artifacts")
        devnet_up(self.settings, self.root)
        deploy_contracts(
            self.settings, DeployRequest(project_root=self.root), confirm=lambda _preview: True
        )
        return self

    def variant(self, **sections: Any) -> Path:
        """A config dir for this deployment with some sections changed, in a project root that
        shares this one's build/, deployments/ and devnet state. Returns the config dir."""
        config = json.loads(json.dumps(self.config))
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key].update(value)
            else:
                config[key] = value
        root = Path(tempfile.mkdtemp(prefix="variant-", dir=self.root))
        for name in ("build", "deployments", "contracts", "node_modules"):
            (root / name).symlink_to(self.root / name)
        config["devnet"] = {"state_dir": str(self.root / ".sphinxctl" / "devnet")}
        return write_config(root, config)

    def settings_with(self, **sections: Any) -> Any:
        return load(self.variant(**sections))

    def rpc(self, chain: str, method: str, *params: Any) -> Any:
        url = self.settings.chains[chain].rpc_urls[0]
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = httpx.post(url, json=body, timeout=10).json()
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every chain reverts to its current state afterwards (anvil evm_snapshot/revert)."""
        ids = {chain: self.rpc(chain, "evm_snapshot") for chain in self.settings.chains}
        try:
            yield
        finally:
            for chain, snapshot_id in ids.items():
                assert self.rpc(chain, "evm_revert", snapshot_id) is True

    def node_pid(self, chain: str) -> int:
        record = json.loads((self.root / ".sphinxctl/devnet" / f"{chain}.pid").read_text())
        return int(record["pid"])

    def stop_node(self, chain: str) -> None:
        pid = self.node_pid(chain)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def restart_nodes(self) -> None:
        from sphinxctl.chains.devnet import devnet_up

        devnet_up(self.settings, self.root)

    def destroy(self) -> None:
        from sphinxctl.chains.devnet import devnet_down

        try:
            devnet_down(self.settings, self.root, wipe=True)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def tokens_for(settings: Any, project_root: Path, ttl: int = 3600) -> dict[str, str]:
    """One valid bearer token per role."""
    from sphinxctl.auth import KeySet, issue_token

    keyset = KeySet.from_settings(settings.auth, project_root)
    return {
        role: issue_token(keyset, settings.auth, f"test-{role}", role, ttl)[0] for role in ROLES
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class LiveServer:
    """An ASGI app under uvicorn in a background thread on 127.0.0.1:<free port>."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class ServeProcess:
    """`sphinxctl serve` as a real subprocess (its own interpreter, config from a directory)."""

    def __init__(self, config_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.config_dir = config_dir
        self.args = args
        self.env = dict(os.environ) if env is None else env
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = config_dir.parent / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServeProcess:
        return self.start().wait()

    def start(self) -> ServeProcess:
        """Spawn the process (returns at once; `wait` for it to answer)."""
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("sphinxctl")),
                    "--config-dir",
                    str(self.config_dir),
                    "-e",
                    "local",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.config_dir.parent,
            )
        return self

    def wait(self) -> ServeProcess:
        """Until /health answers 200 (RuntimeError with the log if it exits or hangs)."""
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"serve did not start: {self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for_job(
    api: httpx.Client, token: str, chain: str, job_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    """Poll a rarity snapshot job until it leaves queued/running; its last view."""
    deadline = time.monotonic() + timeout
    while True:
        reply = api.get(f"/api/v1/nfts/{chain}/rarity-snapshot/{job_id}", headers=auth(token))
        assert reply.status_code == 200, reply.text
        job: dict[str, Any] = reply.json()
        if job["status"] not in ("queued", "running"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['phase']} after {timeout}s")
        time.sleep(0.1)


def take_snapshot(
    api: httpx.Client, token: str, chain: str, *, publish: bool = True
) -> dict[str, Any]:
    """POST a rarity snapshot (202 + job), wait for the job; the finished job (succeeded)."""
    started = api.post(
        f"/api/v1/nfts/{chain}/rarity-snapshot",
        params={"publish": "true" if publish else "false"},
        headers=auth(token),
    )
    assert started.status_code == 202, started.text
    job = wait_for_job(api, token, chain, started.json()["job_id"])
    assert job["status"] == "succeeded", job
    return job


def memory_app(root: Path, settings: Any, **overrides: Any) -> Any:
    """The app with in-memory rate limiting and revocation (no Redis needed)."""
    from sphinxctl.api import create_app
    from sphinxctl.auth import AsyncMemoryRevocations
    from sphinxctl.ratelimit import MemoryBackend, RateLimiter

    overrides.setdefault("limiter", RateLimiter(MemoryBackend(), api=settings.api))
    overrides.setdefault("revocations", AsyncMemoryRevocations())
    return create_app(settings, root, **overrides)
