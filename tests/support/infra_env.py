"""Settings for infra tests, with distinctive secret values that must never show up in any
output, log, revision or file."""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinxctl.infra.client import KubeApi, RetryPolicy
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.models import ProgressEvent
from sphinxctl.infra.render import Sources
from sphinxctl.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DB_PASSWORD = "Zq7-pg-pass-5e1d"
JWT_SECRET = "Zq7-jwt-4f9a0c3b7e2d1a8f6c5b4e3d2a1f0e9d"
GRAFANA_PASSWORD = "Zq7-grafana-77ab"
RPC_KEY = "Zq7rpckey0c1d"
REDIS_PASSWORD = "Zq7-redis-31c"
DEPLOYER_KEY = "0x" + "7a" * 32
SECRET_VALUES = [DB_PASSWORD, JWT_SECRET, GRAFANA_PASSWORD, RPC_KEY, REDIS_PASSWORD, DEPLOYER_KEY]


def image_ref(version: str) -> str:
    """A stand-in API image reference by digest (testnet and mainnet refuse tags)."""
    import hashlib

    return "ghcr.io/sphinx/api@sha256:" + hashlib.sha256(version.encode()).hexdigest()


API_IMAGE = image_ref("0.1.0")

ENVIRON = {
    "SPHINX_API_IMAGE": API_IMAGE,
    "DATABASE_URL": f"postgresql://sphinx:{DB_PASSWORD}@postgres:5432/sphinx",
    "SPHINX_JWT_SECRET": JWT_SECRET,
    "SPHINX_GRAFANA_PASSWORD": GRAFANA_PASSWORD,
    "SPHINX_DEPLOYER_KEY": DEPLOYER_KEY,
    "ETHEREUM_RPC_URL": f"https://eth.example/v3/{RPC_KEY}",
    "REDIS_URL": f"redis://:{REDIS_PASSWORD}@redis:6379/0",
}


def settings_for(env: str, **environ: str) -> Settings:
    """One environment's settings with the distinctive secrets (local ignores SPHINX_*)."""
    merged = {**ENVIRON, **environ}
    return load_settings(env, ROOT / "environments", environ=merged).settings


def contains_secret(text: str) -> list[str]:
    return [value for value in SECRET_VALUES if value in text]


def project_copy(tmp_path: Path) -> Path:
    """A project root of its own: environments/, manifests/ and alert_rules/ copied."""
    for name in ("environments", "manifests", "alert_rules"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def stack_for(
    settings: Settings,
    kubeconfig: Path,
    project: Path = ROOT,
    events: list[ProgressEvent] | None = None,
) -> StackContext:
    """A StackContext through the real client with fast retries."""
    api = KubeApi.connect(kubeconfig, None, retry=RetryPolicy(base_delay=0.001, max_delay=0.01))
    return StackContext(
        settings=settings,
        api=api,
        sources=Sources.under(project),
        on_event=events.append if events is not None else None,
        poll_interval=0.25,  # a real API server: poll gently, the machine is shared
    )
