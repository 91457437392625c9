"""API security: the running API's readiness, CORS, docs exposure, Redis and its failure mode."""

from __future__ import annotations

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import (
    Outcome,
    check,
    failed,
    not_applicable,
    passed,
    problems_outcome,
)

# What the API does when Redis is down, per failure mode (for the reason text).
FAILURE_MODES = {
    "open": "admits every request unlimited",
    "closed": "refuses rate-limited requests (429/503)",
    "local": "falls back to per-replica in-memory buckets",
}


def api_base_url(ctx: CheckContext) -> str | None:
    """Where the API answers: api.base_url, else host:port on the local devnet."""
    api = ctx.settings.api
    if api.base_url:
        return api.base_url.rstrip("/")
    if ctx.is_local:
        host = "127.0.0.1" if api.host in ("0.0.0.0", "::") else api.host
        return f"http://{host}:{api.port}"
    return None


@check("API-001", "api-ready")
def api_ready(ctx: CheckContext) -> Outcome:
    """The API's /health/ready answers 200."""
    import httpx

    from sphinxctl.chains.registry import display_url

    base = api_base_url(ctx)
    if base is None:
        return failed(
            "api.base_url is not configured: the API cannot be reached",
            "set api.base_url to the public URL of the API (e.g. https://api.sphinx.example)",
        )
    url = f"{base}/health/ready"
    shown = display_url(base) + "/health/ready"
    try:
        response = httpx.get(url, timeout=ctx.timeout_for(5.0), follow_redirects=False)
    except httpx.HTTPError as exc:
        return failed(
            f"{shown}: no answer ({type(exc).__name__})",
            "start the API (`sphinxctl serve`, or `sphinxctl infra status` on Kubernetes)",
        )
    if response.status_code != 200:
        return failed(
            f"{shown} answered {response.status_code}: {response.text[:200]}",
            "the body's `failed` names each check that is not ready (database, redis, "
            "chain:<chain>, contracts, abis, config, jwt-keys, signer-key...; "
            "docs/POD_CONTRACT.md says what each needs): fix those",
        )
    return passed(f"{shown} answered 200")


@check("API-002", "cors-policy")
def cors_policy(ctx: CheckContext) -> Outcome:
    """CORS allows only explicit origins, HTTPS outside local."""
    origins = ctx.settings.api.cors_origins
    problems = []
    for origin in origins:
        if "*" in origin:
            problems.append(f"api.cors_origins contains the wildcard {origin!r}")
        elif not ctx.is_local and not origin.startswith("https://"):
            problems.append(f"api.cors_origins contains non-HTTPS origin {origin!r}")
        elif origin.rstrip("/") != origin or origin.count("/") > 2:
            problems.append(f"api.cors_origins entry {origin!r} is not a bare origin")
    return problems_outcome(
        problems,
        f"{len(origins)} explicit origin(s)" if origins else "no cross-origin access allowed",
        "list the exact frontend origins, e.g. https://app.sphinx.example",
    )


@check("API-003", "api-docs-disabled")
def api_docs_disabled(ctx: CheckContext) -> Outcome:
    """Interactive API docs are disabled on mainnet."""
    enabled = ctx.settings.api.docs_enabled
    if ctx.env != "mainnet":
        return not_applicable(f"docs may be served outside mainnet (env {ctx.env})")
    if enabled:
        return failed(
            "api.docs_enabled is true on mainnet: /docs and /openapi.json are public",
            "set api.docs_enabled: false (or remove it: mainnet defaults to off)",
        )
    return passed("/docs and /openapi.json are off")


@check("API-004", "redis-reachable")
def redis_reachable(ctx: CheckContext) -> Outcome:
    """Redis answers PING within its configured timeout."""
    import redis as redis_lib

    settings = ctx.settings.redis
    url = settings.url.get_secret_value()
    timeout = ctx.timeout_for(max(settings.timeout_seconds, 1.0))
    client = redis_lib.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
    )
    host = client.connection_pool.connection_kwargs.get("host", "?")
    port = client.connection_pool.connection_kwargs.get("port", "?")
    mode = settings.failure_mode
    try:
        client.ping()
    except redis_lib.RedisError as exc:
        return failed(
            f"Redis at {host}:{port} does not answer ({type(exc).__name__}); "
            f"failure mode {mode!r}: the API {FAILURE_MODES[mode]}",
            "start Redis or fix redis.url (check the NetworkPolicy from the API pods)",
        )
    finally:
        client.close()
    return passed(f"Redis at {host}:{port} answers; failure mode {mode!r}")


@check("API-005", "redis-failure-mode")
def redis_failure_mode(ctx: CheckContext) -> Outcome:
    """The rate limiter never fails open outside local."""
    mode = ctx.settings.redis.failure_mode
    if mode == "open" and not ctx.is_local:
        return failed(
            "redis.failure_mode is 'open': when Redis is down the API " + FAILURE_MODES["open"],
            "set redis.failure_mode to 'local' (per-replica limits) or 'closed'",
        )
    return passed(f"failure mode {mode!r}: when Redis is down the API {FAILURE_MODES[mode]}")
