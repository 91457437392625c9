"""Everything a request needs, built once per app from the environment's configuration.

`build_services(settings, project_root, **overrides)` wires the key set, the revocation store
and rate limiter (Redis), the store (PostgreSQL or SQLite), the deployment record, the
compiled ABIs and the chain gateway. Any of them can be passed in instead (tests, tools);
nothing here opens a connection: clients connect on first use.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinxctl import metrics
from sphinxctl.errors import UsageError

if TYPE_CHECKING:
    from pydantic import SecretStr

    from sphinxctl.auth import AsyncRevocationStore, KeySet
    from sphinxctl.chains.signer import Signer
    from sphinxctl.deploy.records import DeploymentRecord
    from sphinxctl.platform.gateway import ChainGateway
    from sphinxctl.platform.poller import ChainPoller
    from sphinxctl.ratelimit import RateLimiter
    from sphinxctl.settings import Settings
    from sphinxctl.store import Store

ACTIVE_WINDOW_SECONDS = 300.0


class ActiveUsers:
    """Distinct authenticated subjects seen in the last five minutes (sphinxos_active_users)."""

    def __init__(self, window: float = ACTIVE_WINDOW_SECONDS, max_tracked: int = 100_000) -> None:
        self.window = window
        self.max_tracked = max_tracked
        self._seen: dict[str, float] = {}
        self._pruned = 0.0
        self._lock = threading.Lock()

    def seen(self, subject: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if subject not in self._seen and len(self._seen) >= self.max_tracked:
                self._prune(now)
            self._seen[subject] = now
            if now - self._pruned > 5.0:
                self._prune(now)
            metrics.ACTIVE_USERS.set(len(self._seen))

    def count(self, now: float | None = None) -> int:
        """Subjects seen within the window (also refreshes the gauge, so it decays when idle)."""
        with self._lock:
            self._prune(time.monotonic() if now is None else now)
            metrics.ACTIVE_USERS.set(len(self._seen))
            return len(self._seen)

    def _prune(self, now: float) -> None:
        cutoff = now - self.window
        self._seen = {s: t for s, t in self._seen.items() if t >= cutoff}
        self._pruned = now


class DeploymentAddresses:
    """Contract addresses per chain from the deployment record, reloaded when it changes."""

    def __init__(self, project_root: Path, environment: str) -> None:
        self.project_root = project_root
        self.environment = environment
        self._stamp: tuple[float, int] | None = None
        self._record: DeploymentRecord | None = None
        self._lock = threading.Lock()

    def record(self) -> DeploymentRecord | None:
        from sphinxctl.deploy.journal import journal_path
        from sphinxctl.deploy.records import load_record

        path = journal_path(self.project_root, self.environment)
        try:
            info = path.stat()
            stamp: tuple[float, int] | None = (info.st_mtime, info.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or (stamp is not None and self._record is None):
                self._record = load_record(self.project_root, self.environment)
                self._stamp = stamp
            return self._record

    def addresses(self) -> dict[str, dict[str, str]]:
        record = self.record()
        if record is None:
            return {}
        return {
            chain: {name: info.address for name, info in deployment.contracts.items()}
            for chain, deployment in record.chains.items()
        }


class LazyAbis:
    """The compiled artifacts' ABIs, loaded on first use (CompileError until compiled)."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root
        self._abis: dict[str, list[dict[str, Any]]] | None = None

    def get(self) -> dict[str, list[dict[str, Any]]]:
        if self._abis is None:
            from sphinxctl.solidity.artifacts import load_artifacts

            self._abis = {name: a.abi for name, a in load_artifacts(self.project_root).items()}
        return self._abis


@dataclass
class ApiServices:
    """The app's dependencies (one instance per app, shared by every request)."""

    settings: Settings
    project_root: Path
    keyset: KeySet
    revocations: AsyncRevocationStore | None
    limiter: RateLimiter
    store: Store
    gateway: ChainGateway
    deployments: DeploymentAddresses
    activity: ActiveUsers = field(default_factory=ActiveUsers)
    poller: ChainPoller | None = None
    docs_enabled: bool = True
    multiproc_dir: str | None = None

    async def aclose(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        await self.limiter.aclose()
        close = getattr(self.revocations, "aclose", None)
        if close is not None:
            await close()
        self.store.close()


def build_services(settings: Settings, project_root: Path, **overrides: Any) -> ApiServices:
    """Services from configuration; `overrides` replaces any field of ApiServices by name."""
    known = set(ApiServices.__dataclass_fields__)
    extra = {"signer", "minter", "guardian", "abis", "poll_interval", "receipt_timeout"}
    unknown = set(overrides) - known - extra
    if unknown:
        raise UsageError(f"unknown service override(s): {', '.join(sorted(unknown))}")
    project_root = Path(project_root)
    parts: dict[str, Any] = {k: v for k, v in overrides.items() if k in known}
    if "keyset" not in parts:
        from sphinxctl.auth import KeySet

        parts["keyset"] = KeySet.from_settings(settings.auth, project_root)
    if "revocations" not in parts:
        from sphinxctl.auth import AsyncRedisRevocations

        parts["revocations"] = AsyncRedisRevocations.from_settings(settings.redis)
    if "limiter" not in parts:
        from sphinxctl.ratelimit import RateLimiter

        parts["limiter"] = RateLimiter.from_settings(settings)
    if "store" not in parts:
        from sphinxctl.store import Store

        parts["store"] = Store.from_settings(settings, project_root)
    deployments = parts.setdefault(
        "deployments", DeploymentAddresses(project_root, settings.environment)
    )
    if "gateway" not in parts:
        parts["gateway"] = _gateway(settings, project_root, deployments, overrides)
    if "poller" not in parts:
        from sphinxctl.platform.poller import ChainPoller

        interval = float(overrides.get("poll_interval") or settings.api.chain_poll_seconds)
        parts["poller"] = ChainPoller(parts["gateway"], interval)
    if "docs_enabled" not in parts:
        enabled = settings.api.docs_enabled
        parts["docs_enabled"] = (
            enabled if enabled is not None else settings.environment != "mainnet"
        )
    return ApiServices(settings=settings, project_root=project_root, **parts)


def _gateway(
    settings: Settings,
    project_root: Path,
    deployments: DeploymentAddresses,
    overrides: dict[str, Any],
) -> ChainGateway:
    from sphinxctl.platform.gateway import ChainGateway

    signer = overrides["signer"] if "signer" in overrides else api_signer(settings, project_root)
    minter = overrides.get("minter")
    if "minter" not in overrides and settings.api.minter_key is not None:
        minter = _key_signer(settings.api.minter_key, project_root)
    guardian = overrides.get("guardian")
    if "guardian" not in overrides and settings.api.guardian_key is not None:
        guardian = _key_signer(settings.api.guardian_key, project_root)
    abis = overrides.get("abis")
    return ChainGateway(
        settings,
        deployments.addresses,
        (lambda: abis) if abis is not None else LazyAbis(project_root).get,
        signer=signer,
        minter=minter,
        guardian=guardian,
        receipt_timeout=overrides.get("receipt_timeout"),
    )


def api_signer(settings: Settings, project_root: Path) -> Signer | None:
    """The key the API sends with: api.signer_key, else the deployer's raw key, else none."""
    from sphinxctl.chains.signer import load_signer

    if settings.api.signer_key is not None:
        return _key_signer(settings.api.signer_key, project_root)
    if settings.deployer.private_key is not None:
        return load_signer(settings.deployer, project_root)
    return None


def _key_signer(key: SecretStr, project_root: Path) -> Signer:
    from sphinxctl.chains.signer import load_signer
    from sphinxctl.settings.sections import DeployerSettings

    return load_signer(DeployerSettings(private_key=key), project_root)
