"""What `serve` checks before it builds the app, and what it serves when a piece is missing.

A pod gets its configuration from rendered objects (docs/POD_CONTRACT.md): the environment file
(a ConfigMap), secrets as environment variables (a Secret), keys it signs with. When one is
missing — a Secret key, a mount — exiting would only crash-loop the pod with the reason buried
in a restart's log. Instead `serve` starts, logs once what is missing (variable names and key
paths, never values), and serves a not-ready app: /health 200 (alive, do not restart it: a
restart cannot fix its configuration), /health/ready 503 naming the failing checks, /metrics,
and 503 `not-configured` for everything else. Nothing is served on half a configuration (no
SQLite instead of the missing database, no requests without the JWT keys).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sphinxctl.errors import ConfigError, SphinxError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sphinxctl.settings import Settings

_log = logging.getLogger("sphinxctl.api")
_CHAIN_URL = re.compile(r"^chains\.([^.\[]+)\.rpc_urls")

# Key path (prefix) of a missing variable -> the readiness check it fails.
_CHECKS: tuple[tuple[str, str], ...] = (
    ("database.", "database"),
    ("redis.", "redis"),
    ("auth.", "jwt-keys"),
    ("api.signer_key", "signer-key"),
    ("deployer.", "signer-key"),  # on the devnet the deployer's key stands in for the signer
    ("api.minter_key", "minter-key"),
    ("api.guardian_key", "guardian-key"),
    ("api.sentry_dsn", "sentry"),
)


class Problem(BaseModel):
    """One missing or unusable piece: the check it fails and why (names, never values)."""

    check: str
    reason: str


def check_for(key_path: str) -> str:
    """The readiness check a missing variable at `key_path` fails."""
    match = _CHAIN_URL.match(key_path)
    if match:
        return f"chain:{match.group(1)}"
    for prefix, check in _CHECKS:
        if key_path.startswith(prefix):
            return check
    return "config"


def preflight(
    env: str, config_dir: Path, project_root: Path, environ: Mapping[str, str]
) -> tuple[Settings | None, list[Problem]]:
    """The environment's settings (None when they cannot be built) and what is missing."""
    from sphinxctl.settings import load_settings

    try:
        loaded = load_settings(env, config_dir, strict=False, environ=environ)
    except ConfigError as exc:
        missing = exc.details.get("missing") or []
        if missing:
            return None, [_missing(m["variable"], m["key_path"], exc.details) for m in missing]
        return None, [Problem(check="config", reason=exc.message)]
    problems = [
        _missing(m.variable, m.key_path, {"file": str(loaded.path)}) for m in loaded.missing
    ]
    if problems:
        return loaded.settings, problems
    return loaded.settings, key_problems(loaded.settings, project_root) + scratch_problems()


def scratch_problems() -> list[Problem]:
    """A writable temporary directory (the pod's /tmp emptyDir on a read-only root): worker
    processes share their metrics through it, and request bodies may spool to it."""
    import tempfile

    try:
        with tempfile.TemporaryFile():
            pass
    except OSError as exc:
        where = getattr(exc, "filename", None) or "/tmp"
        return [Problem(check="tmp", reason=f"no writable temporary directory ({where})")]
    return []


def key_problems(settings: Settings, project_root: Path) -> list[Problem]:
    """Each configured key the API signs or verifies with, loaded once: the JWT key set and
    the signer, minter and guardian keys (their errors name the key, never its value)."""
    from sphinxctl.api.services import api_signer
    from sphinxctl.auth import KeySet
    from sphinxctl.chains.signer import load_signer
    from sphinxctl.settings.sections import DeployerSettings

    problems: list[Problem] = []

    def attempt(check: str, load: Any) -> None:
        try:
            load()
        except SphinxError as exc:
            problems.append(Problem(check=check, reason=exc.message))
        except ValueError:  # pydantic's check of a raw key (its message would quote the input)
            reason = f"the {check} configured is not a valid secp256k1 private key"
            problems.append(Problem(check=check, reason=reason))

    attempt("jwt-keys", lambda: KeySet.from_settings(settings.auth, project_root))
    attempt("signer-key", lambda: api_signer(settings, project_root))
    for check, key in (
        ("minter-key", settings.api.minter_key),
        ("guardian-key", settings.api.guardian_key),
    ):
        if key is not None:
            attempt(
                check, lambda key=key: load_signer(DeployerSettings(private_key=key), project_root)
            )
    return problems


def _missing(variable: str, key_path: str, details: Mapping[str, Any]) -> Problem:
    where = f" in {details['file']}" if details.get("file") else ""
    return Problem(
        check=check_for(key_path),
        reason=f"environment variable {variable} is not set ({key_path}{where})",
    )


def failed_checks(problems: list[Problem]) -> list[str]:
    return sorted({p.check for p in problems})


def log_problems(problems: list[Problem]) -> None:
    """Once, at start: what is missing and what to do (the pod's log is where operators look)."""
    for problem in problems:
        _log.error(
            "not ready: %s; /health/ready answers 503 naming %r until the pod is restarted "
            "with it (docs/POD_CONTRACT.md)",
            problem.reason,
            problem.check,
            extra={"fields": {"check": problem.check}},
        )


def unready_app(problems: list[Problem]) -> FastAPI:
    """The app of a server missing a piece of its configuration (see the module docstring)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    from sphinxctl import __version__, metrics
    from sphinxctl.api.errors import problem_body

    failed = failed_checks(problems)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        return JSONResponse({"ready": False, "failed": failed}, status_code=503)

    @app.get("/metrics")
    async def scrape() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def not_configured(request: Request, call_next: Any) -> Any:
        if request.url.path in ("/health", "/health/ready", "/metrics"):
            return await call_next(request)
        body = problem_body(
            "not-configured",
            "the API is missing part of its configuration and serves nothing",
            None,
            hint="see /health/ready and the server's log",
        )
        return JSONResponse(body, status_code=503, headers={"Retry-After": "30"})

    return app


def serve_unready(
    settings: Settings | None, problems: list[Problem], *, host: str | None, port: int | None,
    log_level: str,
) -> None:  # fmt: skip
    """Serve `unready_app` until interrupted, on the configured (or given) address."""
    import uvicorn

    from sphinxctl.api.logs import configure_logging
    from sphinxctl.api.server import ServeOptions, uvicorn_config_kwargs
    from sphinxctl.settings.sections import ApiSettings

    configure_logging(log_level)
    api = settings.api if settings is not None else ApiSettings()
    options = ServeOptions(
        host=host or api.host, port=port or api.port, workers=1, log_level=log_level
    )
    log_problems(problems)
    app = unready_app(problems)
    uvicorn.Server(uvicorn.Config(app, **uvicorn_config_kwargs(options))).run()
