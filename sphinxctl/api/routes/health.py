"""GET /health (liveness, no I/O) and GET /health/ready (every dependency, 503 when one fails).

Readiness is computed at most once per READY_CACHE_SECONDS per process, however many probes
ask at once (they share one computation), so probes cannot fan out to the RPC endpoints. The
probe (no token) gets `{"ready": ..., "failed": [names]}`: the names of the failing checks
(`database`, `redis`, `chain:<chain>`, `contracts`, `contract:<chain>:<name>`, `abis`), never a
value, host or error text; the full report, which names hosts and driver errors, goes to
callers with an admin token only. A server missing part of its configuration answers from
`api/preflight.py` instead (`config`, `jwt-keys`, `signer-key`, ...).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sphinxctl import __version__
from sphinxctl.api.dependencies import authenticate, get_services
from sphinxctl.api.schemas import (
    ChainReadiness,
    ComponentReadiness,
    ContractPresence,
    Liveness,
    ReadinessReport,
)
from sphinxctl.auth import Role
from sphinxctl.errors import ChainError

if TYPE_CHECKING:
    from sphinxctl.api.services import ApiServices

router = APIRouter(tags=["operations"])
READY_CACHE_SECONDS = 1.0


class ReadinessStatus(BaseModel):
    """What a probe sees of /health/ready: the names of the failing checks, no details."""

    ready: bool
    failed: list[str] = []


class ReadinessCache:
    """The last readiness report for `ttl` seconds; concurrent callers share one computation."""

    def __init__(self, ttl: float = READY_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self.computed = 0
        self._report: ReadinessReport | None = None
        self._at = float("-inf")
        self._running: asyncio.Future[ReadinessReport] | None = None

    async def get(self, services: ApiServices) -> ReadinessReport:
        if self._report is not None and time.monotonic() - self._at < self.ttl:
            return self._report
        if self._running is None:
            self._running = asyncio.ensure_future(self._refresh(services))
        return await asyncio.shield(self._running)

    async def _refresh(self, services: ApiServices) -> ReadinessReport:
        try:
            report = await readiness(services)
            self.computed += 1
            self._report, self._at = report, time.monotonic()
            return report
        finally:
            self._running = None


@router.get("/health", response_model=Liveness, summary="Liveness")
async def health() -> Liveness:
    """The process is up and serving; touches nothing else."""
    return Liveness(version=__version__)


@router.get(
    "/health/ready",
    response_model=ReadinessReport | ReadinessStatus,
    summary="Readiness",
    responses={
        503: {
            "model": ReadinessReport | ReadinessStatus,
            "description": "Not ready: `failed` names the failing checks (an admin token "
            "gets the full report)",
        }
    },
)
async def ready(request: Request) -> JSONResponse:
    """Chains (reachable, chain id, head, latency), Redis, the database, deployed contracts:
    `{"ready": ...}` for a probe, the whole report for an admin token (cached ~1 s)."""
    cache: ReadinessCache | None = getattr(request.app.state, "readiness_cache", None)
    if cache is None:
        cache = request.app.state.readiness_cache = ReadinessCache()
    report = await cache.get(get_services(request))
    status = 200 if report.ready else 503
    claims = await authenticate(request) if request.headers.get("authorization") else None
    if claims is None or claims.role is not Role.admin:
        probe = ReadinessStatus(ready=report.ready, failed=report.failed)
        return JSONResponse(probe.model_dump(), status_code=status)
    return JSONResponse(report.model_dump(mode="json"), status_code=status)


async def readiness(services: ApiServices) -> ReadinessReport:
    settings = services.settings
    timeout = max(c.rpc_timeout_seconds for c in settings.chains.values()) + 2.0
    chain_results = await asyncio.gather(
        *(
            _bounded(asyncio.to_thread(_chain, services, c), timeout, _chain_timeout(services, c))
            for c in settings.chains
        )
    )
    redis, database = await asyncio.gather(
        _redis(services),
        _bounded(
            asyncio.to_thread(_database, services),
            timeout,
            ComponentReadiness(ok=False, detail=f"database did not answer within {timeout:.0f} s"),
        ),
    )
    chain_reports = [report for report, _ in chain_results]
    contracts = [entry for _, entries in chain_results for entry in entries]
    failed = [f"chain:{c.chain}" for c in chain_reports if not c.ok]
    if not redis.ok:
        failed.append("redis")
    if not database.ok:
        failed.append("database")
    failed += [f"contract:{c.chain}:{c.contract}" for c in contracts if not c.present]
    if not contracts:
        failed.append("contracts")
    if not _abis_loaded(services):
        failed.append("abis")
    return ReadinessReport(
        ready=not failed,
        failed=failed,
        chains=chain_reports,
        redis=redis,
        database=database,
        contracts=contracts,
    )


T = TypeVar("T")


def _abis_loaded(services: ApiServices) -> bool:
    """The compiled ABIs every call is encoded with (build/artifacts/, a ConfigMap in a pod)."""
    try:
        _ = services.gateway.codec
    except Exception:  # noqa: BLE001 — readiness: any failure to build the codec is not ready
        return False
    return True


async def _bounded(work: Awaitable[T], timeout: float, fallback: T) -> T:
    try:
        return await asyncio.wait_for(work, timeout=timeout)
    except TimeoutError:
        return fallback


def _chain_timeout(
    services: ApiServices, chain: str
) -> tuple[ChainReadiness, list[ContractPresence]]:
    expected = services.settings.chains[chain].chain_id
    report = ChainReadiness(
        chain=chain, ok=False, reachable=False, expected_chain_id=expected, error="timed out"
    )
    return report, []


def _chain(services: ApiServices, chain: str) -> tuple[ChainReadiness, list[ContractPresence]]:
    gateway = services.gateway
    probe = gateway.probe(chain)
    report = ChainReadiness(
        chain=chain,
        ok=probe.healthy,
        reachable=probe.reachable,
        chain_id=probe.chain_id,
        expected_chain_id=probe.expected_chain_id,
        latest_block=probe.latest_block,
        latency_ms=probe.latency_ms,
        error=probe.error,
    )
    deployed = gateway.deployed(chain)
    present: dict[str, bool] = {}
    if probe.healthy:
        try:
            present = gateway.code_present(chain)
        except ChainError as exc:  # the node did not answer: say so, not "no code"
            report.ok = False
            report.error = exc.message
    entries = [
        ContractPresence(
            chain=chain, contract=name, address=address, present=present.get(name, False)
        )
        for name, address in sorted(deployed.items())
    ]
    return report, entries


async def _redis(services: ApiServices) -> ComponentReadiness:
    client = getattr(services.revocations, "client", None) or getattr(
        services.limiter.backend, "client", None
    )
    if client is None:
        return ComponentReadiness(ok=True, detail="no Redis configured (in-memory backends)")
    start = time.perf_counter()
    try:
        await asyncio.wait_for(client.ping(), timeout=services.settings.redis.timeout_seconds + 1)
    except Exception as exc:  # noqa: BLE001 — readiness: any Redis client failure is unreachable
        return ComponentReadiness(ok=False, detail=f"Redis unreachable: {type(exc).__name__}")
    return ComponentReadiness(ok=True, latency_ms=round((time.perf_counter() - start) * 1000, 2))


def _database(services: ApiServices) -> ComponentReadiness:
    result = services.store.readiness()
    latency = round(result.latency_ms, 2) if result.latency_ms is not None else None
    detail = result.detail if not result.ok else f"{result.backend}"
    return ComponentReadiness(ok=result.ok, latency_ms=latency, detail=detail)
