"""The rate limiter the API uses: rules from config, a backend, and a failure mode.

While the backend (Redis) fails, decisions follow `redis.failure_mode`:
  open    admit every request whose cost fits the capacity;
  closed  refuse every request (retry after the reconnect interval);
  local   in-memory buckets in this process, each with capacity // replicas (at least 1) and
          refill / replicas, so the replicas together stay near the configured limit.
Each backend error counts in sphinxos_rate_limit_backend_errors_total and turns
sphinxos_rate_limit_fallback_active to 1. Redis is not asked again until
`redis.reconnect_interval_seconds` have passed; then one decision probes it, and when it
answers, decisions go back to Redis and the gauge returns to 0 (redis-py reconnects by itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sphinxctl.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_FALLBACK_ACTIVE
from sphinxctl.ratelimit.bucket import Decision, check_cost
from sphinxctl.ratelimit.memory import MemoryBackend
from sphinxctl.settings.sections import ApiSettings, RateLimitRule

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

FailureMode = Literal["open", "closed", "local"]


class Backend(Protocol):
    errors: tuple[type[BaseException], ...]

    async def decide(self, key: str, rule: RateLimitRule, cost: int = 1) -> Decision: ...


class RateLimiter:
    """Token-bucket decisions with a configured failure mode (see the module docstring)."""

    def __init__(
        self,
        backend: Backend | MemoryBackend,
        *,
        failure_mode: FailureMode = "local",
        replicas: int = 1,
        reconnect_interval: float = 1.0,
        api: ApiSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.failure_mode = failure_mode
        self.replicas = max(1, replicas)
        self.reconnect_interval = reconnect_interval
        self.api = api or ApiSettings()
        self._clock = clock
        self._errors: tuple[type[BaseException], ...] = getattr(backend, "errors", ())
        self._local = MemoryBackend(clock=clock, source="local")
        self._local_rules: dict[tuple[int, float], RateLimitRule] = {}
        self._down_until: float | None = None
        self.last_error: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """A limiter on the environment's Redis with its failure mode and API rules."""
        from sphinxctl.ratelimit.redis_backend import RedisBackend

        return cls(
            RedisBackend.from_settings(settings.redis),
            failure_mode=settings.redis.failure_mode,
            replicas=settings.redis.replicas,
            reconnect_interval=settings.redis.reconnect_interval_seconds,
            api=settings.api,
        )

    @property
    def degraded(self) -> bool:
        """True while decisions follow the failure mode instead of the backend."""
        return self._down_until is not None

    async def decide(self, key: str, rule: RateLimitRule, cost: int = 1) -> Decision:
        """Admit or refuse a request of `cost` tokens against bucket `key` under `rule`."""
        check_cost(cost)
        if self._down_until is not None:
            now = self._clock()
            if now < self._down_until:
                return self._fallback(key, rule, cost)
            self._down_until = now + self.reconnect_interval  # this call probes; others wait
        try:
            decision = await self.backend.decide(key, rule, cost)
        except self._errors as exc:
            RATE_LIMIT_BACKEND_ERRORS.inc()
            RATE_LIMIT_FALLBACK_ACTIVE.set(1)
            self._down_until = self._clock() + self.reconnect_interval
            self.last_error = f"{type(exc).__name__}: {exc}"
            return self._fallback(key, rule, cost)
        if self._down_until is not None:
            self._down_until = None
            self._local.clear()
            RATE_LIMIT_FALLBACK_ACTIVE.set(0)
        return decision

    def rule_for(self, route: str | None, role: str | None) -> tuple[str, RateLimitRule]:
        """(scope, rule): the route's own rule, else the role's, else the default."""
        if route is not None and route in self.api.rate_limits:
            return f"route:{route}", self.api.rate_limits[route]
        if role is not None and role in self.api.role_rate_limits:
            return f"role:{role}", self.api.role_rate_limits[role]
        return "default", self.api.default_rate_limit

    async def decide_request(
        self, route: str | None, role: str | None, client: str, cost: int = 1
    ) -> Decision:
        """decide() for an API request: the rule from config, the bucket `<scope>|<client>`.

        `route` is the route template (e.g. 'POST /api/v1/nfts/{chain}/mint'), `client` the
        result of `client_key(...)`.
        """
        scope, rule = self.rule_for(route, role)
        return await self.decide(f"{scope}|{client}", rule, cost)

    def _fallback(self, key: str, rule: RateLimitRule, cost: int) -> Decision:
        if self.failure_mode == "local":
            return self._local.decide_now(key, self._local_rule(rule), cost)
        fits = cost <= rule.capacity
        if self.failure_mode == "open":
            return Decision(
                allowed=fits,
                remaining=rule.capacity,
                retry_after=0.0 if fits else None,
                reset_after=0.0,
                limit=rule.capacity,
                source="fail-open",
            )
        wait = self.reconnect_interval
        if self._down_until is not None:
            wait = max(0.0, self._down_until - self._clock())
        return Decision(
            allowed=False,
            remaining=0,
            retry_after=wait if fits else None,
            reset_after=wait,
            limit=rule.capacity,
            source="fail-closed",
        )

    def _local_rule(self, rule: RateLimitRule) -> RateLimitRule:
        cache_key = (rule.capacity, rule.refill_per_second)
        local = self._local_rules.get(cache_key)
        if local is None:
            local = RateLimitRule(
                capacity=max(1, rule.capacity // self.replicas),
                refill_per_second=rule.refill_per_second / self.replicas,
            )
            self._local_rules[cache_key] = local
        return local

    async def aclose(self) -> None:
        close: Any = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()
