"""The app factory: `create_app(settings, project_root, **overrides)`.

Every dependency comes from the environment's configuration (see services.py); `overrides`
replaces any of them by name. Middleware, outermost first: request context (id, timing,
security headers, metrics by route template, access log, last-resort JSON 500), CORS from the
configured origins, body size limit. Routes: /health, /health/ready, /metrics and /api/v1/...
(rate-limited, bearer-authenticated, one permission per route).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.middleware import Middleware

from sphinxctl import __version__
from sphinxctl.api import handlers
from sphinxctl.api.middleware import (
    BodyLimitMiddleware,
    OriginAwareCORSMiddleware,
    RequestContextMiddleware,
)
from sphinxctl.api.routes import admin, contracts, health, nfts, vault
from sphinxctl.api.routes import auth as auth_routes
from sphinxctl.api.routes import metrics as metrics_routes
from sphinxctl.api.services import ApiServices, build_services

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

_log = logging.getLogger("sphinxctl.api")


def create_app(settings: Settings, project_root: Path, **overrides: Any) -> FastAPI:
    """The API server for one environment (see the module docstring).

    `revocation_in_limiter` (default: neither `limiter` nor `revocations` is overridden, so
    both are the environment's Redis) lets the rate limiter's script check revocation too.
    """
    from sphinxctl.auth.cache import VerifiedTokens

    settle = bool(overrides.pop("settle_heap", False))
    in_limiter = overrides.pop(
        "revocation_in_limiter", "limiter" not in overrides and "revocations" not in overrides
    )
    services = build_services(settings, project_root, **overrides)
    report_exception = _init_sentry(settings)
    docs = services.docs_enabled

    app = FastAPI(
        title="Sphinx platform API",
        version=__version__,
        description="Contracts, NFTs, rarity proofs, the yield vault and admin actions of the "
        f"Sphinx platform ({settings.environment}).",
        lifespan=_lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        swagger_ui_oauth2_redirect_url=None,
        middleware=_middleware(settings, report_exception),
        # Metrics are Prometheus (/metrics); no OpenTelemetry provider is configured, and
        # FastAPI's hooks would look one up on every request (~15 us) to find none.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.settle_heap = settle
    app.state.verified_tokens = VerifiedTokens(services.keyset, settings.auth)
    app.state.revocation_in_limiter = bool(in_limiter) and getattr(
        services.limiter.backend, "checks_revocation", False
    )
    app.state.scrape_view = metrics_routes.scrape_registry(
        services.multiproc_dir, services.store.transaction_stats
    )
    handlers.install(app)
    for module in (health, metrics_routes, contracts, nfts, vault, admin, auth_routes):
        _add_routes(app, module.router)
    app.state.documented_routes = list(app.router.routes)  # OpenAPI keeps this order
    _fixed_paths_first(app)
    app.openapi = lambda: _openapi(app, services)  # type: ignore[method-assign]
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes as the app's own (each already carries its full path, tags and
    dependencies). `include_router` would nest them: FastAPI then matches every request
    against each included router's routes twice (select, then handle), ~50 us a request."""
    app.router.routes.extend(router.routes)


def _fixed_paths_first(app: FastAPI) -> None:
    """Order the routes without path parameters before those with: Starlette tries routes in
    order, so a request for a fixed path then passes fewer regexes. Kept as registered when
    a parameterized route listed earlier would also match a fixed path (the order decides)."""
    from starlette.routing import Route

    routes = app.router.routes
    fixed = [r for r in routes if isinstance(r, Route) and not r.param_convertors]
    for index, route in enumerate(routes):
        if not isinstance(route, Route) or route not in fixed:
            continue
        for earlier in routes[:index]:
            if (
                isinstance(earlier, Route)
                and earlier.param_convertors
                and earlier.path_regex.match(route.path)
                and (earlier.methods is None or route.methods is None
                     or earlier.methods & route.methods)
            ):  # fmt: skip
                return
    routes[:] = fixed + [r for r in routes if r not in fixed]


def _middleware(settings: Settings, report_exception: Any) -> list[Middleware]:
    origins = list(settings.api.cors_origins)
    wildcard = "*" in origins
    return [
        Middleware(RequestContextMiddleware, on_exception=report_exception),
        Middleware(
            OriginAwareCORSMiddleware,
            allow_origins=origins,
            allow_credentials=not wildcard,  # never `*` together with credentials
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
            ],
            max_age=600,
        ),
        Middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes),
    ]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: ApiServices = app.state.services
    if services.store.backend == "sqlite":
        # The embedded local database migrates itself; PostgreSQL is migrated by the operator
        # (`sphinxctl db migrate`), and /health/ready says so until it is.
        try:
            await asyncio.to_thread(services.store.migrate)
        except Exception as exc:  # noqa: BLE001 — startup must not die: /health/ready reports the store
            _log.warning("sqlite migration failed: %s", type(exc).__name__)
    if services.poller is not None:
        services.poller.start()
    await services.limiter.start()
    if app.state.settle_heap:
        settle_heap()
    try:
        yield
    finally:
        await services.aclose()


def settle_heap() -> None:
    """For a server process, once started: everything loaded so far (web3, FastAPI, the ABIs;
    about a million objects) lives as long as the process, so it leaves the cyclic collector's
    sight (`gc.freeze`), and young collections run less often. Without it a full collection
    scanned all of it every few thousand requests: whoami's p99 was 11x the bare app's, with it
    1.4x (`bench/bench_api.py`). Not for tests, which build many apps in one process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 20, 20)


def _init_sentry(settings: Settings) -> Any:
    """Error tracking when api.sentry_dsn is set: unhandled exceptions only, no PII."""
    dsn = settings.api.sentry_dsn
    if dsn is None:
        return lambda exc: None
    import sentry_sdk

    from sphinxctl.api.sentry import scrub_event

    sentry_sdk.init(
        dsn=dsn.get_secret_value(),
        environment=settings.environment,
        release=f"sphinxctl@{__version__}",
        send_default_pii=False,
        default_integrations=False,
        auto_enabling_integrations=False,
        traces_sample_rate=0.0,
        include_local_variables=False,  # frames may hold keys and tokens
        max_request_body_size="never",
        before_send=cast(Any, scrub_event),
    )
    return sentry_sdk.capture_exception


def _openapi(app: FastAPI, services: ApiServices) -> dict[str, Any]:
    """FastAPI's schema, with the configured chains as the `chain` enum."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    from sphinxctl.api.dependencies import document_security

    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.state.documented_routes,
    )
    document_security(schema)
    chains = sorted(services.settings.chains)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "chain" and parameter.get("in") == "path":
                    parameter["schema"] = {"type": "string", "enum": chains, "title": "Chain"}
    app.openapi_schema = schema
    return schema
