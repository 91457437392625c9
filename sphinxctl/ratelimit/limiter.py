"""The rate limiter the API uses: rules from config, a backend, and a failure mode.

While the backend (Redis) fails, decisions follow `redis.failure_mode`:
  open    admit every request whose cost fits the capacity;
  closed  refuse every request (retry after the reconnect interval);
  local   in-memory buckets in this process, each with capacity // replicas (at least 1) and
          refill / replicas, so the replicas together stay within the configured limit.
`replicas` is the live count of API processes (see replicas.py: each registers a heartbeat
in Redis), `redis.replicas` only until the first heartbeat answers.

The local fallback never hands out a fresh full bucket. A bucket starts from this process's
share (1/replicas) of the level Redis last reported for it, refilled at the local rate since
then, or empty when Redis never reported it. When Redis answers again, each local bucket's
level (times replicas) is written back as an upper bound on the Redis bucket before decisions
return to Redis, so tokens spent locally are not handed out again. Bound: across a blip of
length d, one bucket admits at most capacity + refill * (time since the last Redis decision
for it) in total, whatever the number of replicas (each spends at most its share).

Each backend error counts in sphinxos_rate_limit_backend_errors_total and turns
sphinxos_rate_limit_fallback_active to 1. Redis is not asked again until
`redis.reconnect_interval_seconds` have passed; then one decision probes it, and when it
answers, decisions go back to Redis and the gauge returns to 0 (redis-py reconnects by itself).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sphinxctl.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_FALLBACK_ACTIVE
from sphinxctl.ratelimit.bucket import BucketState, Decision, check_cost
from sphinxctl.ratelimit.memory import MemoryBackend
from sphinxctl.settings.sections import ApiSettings, RateLimitRule

if TYPE_CHECKING:
    from sphinxctl.ratelimit.replicas import ReplicaHeartbeat
    from sphinxctl.settings import Settings

FailureMode = Literal["open", "closed", "local"]
_log = logging.getLogger("sphinxctl.ratelimit")
MAX_KNOWN_LEVELS = 100_000
MAX_CLAMPED_BUCKETS = 10_000


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
        self._replicas = max(1, replicas)
        self.reconnect_interval = reconnect_interval
        self.api = api or ApiSettings()
        self._clock = clock
        self._errors: tuple[type[BaseException], ...] = getattr(backend, "errors", ())
        self._local = MemoryBackend(clock=clock, source="local", seed=self._seed)
        self._local_rules: dict[tuple[int, float], RateLimitRule] = {}
        self._rule_of: dict[str, RateLimitRule] = {}  # local key -> its configured rule
        self._known: dict[str, tuple[float, float]] = {}  # key -> (tokens, at) from Redis
        self._down_until: float | None = None
        self.last_error: str | None = None
        self.last_ok: float | None = None  # time.monotonic() of the last backend answer
        self.heartbeat: ReplicaHeartbeat | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """A limiter on the environment's Redis with its failure mode and API rules."""
        from sphinxctl.ratelimit.redis_backend import RedisBackend
        from sphinxctl.ratelimit.replicas import ReplicaHeartbeat

        limiter = cls(
            RedisBackend.from_settings(settings.redis),
            failure_mode=settings.redis.failure_mode,
            replicas=settings.redis.replicas,
            reconnect_interval=settings.redis.reconnect_interval_seconds,
            api=settings.api,
        )
        limiter.heartbeat = ReplicaHeartbeat(limiter, settings.redis.heartbeat_seconds)
        return limiter

    @property
    def replicas(self) -> int:
        """Processes sharing the limits (the live count once a heartbeat has answered)."""
        return self._replicas

    @replicas.setter
    def replicas(self, count: int) -> None:
        count = max(1, int(count))
        if count != self._replicas:
            self._replicas = count
            self._local_rules.clear()

    @property
    def degraded(self) -> bool:
        """True while decisions follow the failure mode instead of the backend."""
        return self._down_until is not None

    async def decide(
        self, key: str, rule: RateLimitRule, cost: int = 1, *, jti: str | None = None
    ) -> Decision:
        """Admit or refuse a request of `cost` tokens against bucket `key` under `rule`.

        With `jti` and a backend that can look it up (Redis), the same call reports whether
        that token is revoked (`Decision.revoked`); otherwise `revoked` is None.
        """
        check_cost(cost)
        if self._down_until is not None:
            now = self._clock()
            if now < self._down_until:
                return self._fallback(key, rule, cost)
            self._down_until = now + self.reconnect_interval  # this call probes; others wait
            try:
                await self._write_back()
            except self._errors as exc:
                return self._failed(exc, key, rule, cost)
        try:
            if jti is not None and getattr(self.backend, "checks_revocation", False):
                decision = await self.backend.decide(key, rule, cost, jti=jti)  # type: ignore[call-arg]
            else:
                decision = await self.backend.decide(key, rule, cost)
        except self._errors as exc:
            return self._failed(exc, key, rule, cost)
        if self._down_until is not None:
            self._down_until = None
            self._local.clear()
            self._rule_of.clear()
            RATE_LIMIT_FALLBACK_ACTIVE.set(0)
        self.last_ok = time.monotonic()
        if decision.source == "redis" and not decision.revoked:
            known = self._known
            known.pop(key, None)
            known[key] = (float(decision.remaining), self._clock())
            if len(known) > MAX_KNOWN_LEVELS:
                del known[next(iter(known))]
        return decision

    def rule_for(self, route: str | None, role: str | None) -> tuple[str, RateLimitRule]:
        """(scope, rule): the route's own rule, else the role's, else the default."""
        if route is not None and route in self.api.rate_limits:
            return f"route:{route}", self.api.rate_limits[route]
        if role is not None and role in self.api.role_rate_limits:
            return f"role:{role}", self.api.role_rate_limits[role]
        return "default", self.api.default_rate_limit

    async def decide_request(
        self,
        route: str | None,
        role: str | None,
        client: str,
        cost: int = 1,
        *,
        jti: str | None = None,
    ) -> Decision:
        """decide() for an API request: the rule from config, the bucket `<scope>|<client>`.

        `route` is the route template (e.g. 'POST /api/v1/nfts/{chain}/mint'), `client` the
        result of `client_key(...)`, `jti` the token id to check for revocation in the same
        call.
        """
        scope, rule = self.rule_for(route, role)
        return await self.decide(f"{scope}|{client}", rule, cost, jti=jti)

    def _failed(self, exc: BaseException, key: str, rule: RateLimitRule, cost: int) -> Decision:
        RATE_LIMIT_BACKEND_ERRORS.inc()
        RATE_LIMIT_FALLBACK_ACTIVE.set(1)
        if self._down_until is None:
            _log.warning("rate-limit backend failed, %s fallback: %s", self.failure_mode, exc)
        self._down_until = self._clock() + self.reconnect_interval
        self.last_error = f"{type(exc).__name__}: {exc}"
        return self._fallback(key, rule, cost)

    def _fallback(self, key: str, rule: RateLimitRule, cost: int) -> Decision:
        if self.failure_mode == "local":
            self._rule_of[key] = rule
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

    def _seed(self, key: str, local: RateLimitRule, now: float) -> BucketState:
        """A local bucket's start: our share of Redis's last word on it, else empty."""
        known = self._known.get(key)
        if known is None:
            return BucketState(tokens=0.0, at=now)
        tokens, at = known
        return BucketState(tokens=min(float(local.capacity), tokens / self._replicas), at=at)

    def _local_rule(self, rule: RateLimitRule) -> RateLimitRule:
        cache_key = (rule.capacity, rule.refill_per_second)
        local = self._local_rules.get(cache_key)
        if local is None:
            local = RateLimitRule(
                capacity=max(1, rule.capacity // self._replicas),
                refill_per_second=rule.refill_per_second / self._replicas,
            )
            self._local_rules[cache_key] = local
        return local

    async def _write_back(self) -> None:
        """Before leaving the local fallback: cap each Redis bucket at what was left locally."""
        clamp: Any = getattr(self.backend, "clamp", None)
        if clamp is None or self.failure_mode != "local":
            return
        now = self._clock()
        levels = []
        for key, state in self._local.states()[-MAX_CLAMPED_BUCKETS:]:
            rule = self._rule_of.get(key)
            if rule is None:
                continue
            local = self._local_rule(rule)
            tokens = min(
                float(local.capacity),
                state.tokens + max(0.0, now - state.at) * local.refill_per_second,
            )
            levels.append((key, rule, tokens * self._replicas))
        await clamp(levels)

    async def start(self) -> None:
        """Start the replica heartbeat (when this limiter has one)."""
        if self.heartbeat is not None:
            self.heartbeat.start()

    async def aclose(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        close: Any = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()
