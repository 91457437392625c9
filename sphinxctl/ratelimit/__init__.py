"""Token-bucket rate limiting: algorithm core, in-memory and Redis backends, failure modes.

For the API server::

    from sphinxctl.ratelimit import RateLimiter, client_key

    limiter = RateLimiter.from_settings(settings)          # Redis from settings.redis
    key = client_key(claims.sub if claims else None, request.client.host,
                     request.headers.getlist("x-forwarded-for"), settings.api.trusted_proxies)
    decision = await limiter.decide_request("GET /api/v1/contracts", role, key)
    if not decision.allowed:  # 429, Retry-After: ceil(decision.retry_after)
        ...                   # (retry_after None: the cost exceeds the capacity, never allowed)
    await limiter.aclose()

- `RateLimiter.decide(key, rule, cost=1) -> Decision(allowed, remaining, retry_after,
  reset_after, limit, source)`; `decide_request(route, role, client, cost)` picks the rule
  (route rule > role rule > api.default_rate_limit) and the bucket `<scope>|<client>`.
- Failure modes (`redis.failure_mode`): open, closed, local — see `limiter.py`. Metrics:
  sphinxos_rate_limit_backend_errors_total, sphinxos_rate_limit_fallback_active.
  (Counting 429s in sphinxos_rate_limit_exceeded_total{route} is the API's job.)
- `MemoryBackend` (one process), `RedisBackend` (one EVALSHA per decision), `take()` (the pure
  algorithm), `client_key()` / `client_ip()` (X-Forwarded-For only from trusted proxies).
"""

from __future__ import annotations

from sphinxctl.ratelimit.bucket import BucketState, Decision, take
from sphinxctl.ratelimit.client import client_ip, client_key, parse_trusted_proxies
from sphinxctl.ratelimit.limiter import FailureMode, RateLimiter
from sphinxctl.ratelimit.memory import MemoryBackend
from sphinxctl.ratelimit.redis_backend import RedisBackend
from sphinxctl.settings.sections import RateLimitRule

__all__ = [
    "BucketState",
    "Decision",
    "FailureMode",
    "MemoryBackend",
    "RateLimitRule",
    "RateLimiter",
    "RedisBackend",
    "client_ip",
    "client_key",
    "parse_trusted_proxies",
    "take",
]
