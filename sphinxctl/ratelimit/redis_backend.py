"""Token buckets in Redis: one EVALSHA per decision.

The Lua script refills the bucket from the server's clock (`TIME`, so replicas with skewed
clocks agree), takes the cost when it can, stores the state and sets the key's TTL to the time
the bucket needs to be full again (an expired key *is* a full bucket) — all in one atomic call.
Keys are hash-tagged (`sphinx:rl:{<key>}`) so a Redis Cluster places each bucket on one slot.
The script is sent by SHA; after a server restart or SCRIPT FLUSH the NOSCRIPT reply is
answered once with EVAL (which also caches the script again).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sphinxctl.ratelimit.bucket import Decision, check_cost
from sphinxctl.settings.sections import RateLimitRule

if TYPE_CHECKING:
    from sphinxctl.settings.sections import RedisSettings

KEY_PREFIX = "sphinx:rl:"
MAX_KEY_CHARS = 200

# KEYS[1] bucket; ARGV capacity, refill per second, cost. State: t = tokens, s/u = the server
# TIME (seconds, microseconds) of the last take. Integer replies (cheap to parse):
# {allowed 0/1, milli-tokens left, milliseconds to wait (-1 = never)}.
TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local tokens = capacity
local state = redis.call('HMGET', KEYS[1], 't', 's', 'u')
if state[1] and state[2] and state[3] then
  local elapsed = (clock[1] - state[2]) + (clock[2] - state[3]) / 1000000
  tokens = tonumber(state[1])
  if elapsed > 0 then tokens = math.min(capacity, tokens + elapsed * rate) end
end
if cost > capacity then
  return {0, math.floor(tokens * 1000), -1}
end
if tokens < cost then
  return {0, math.floor(tokens * 1000), math.ceil((cost - tokens) / rate * 1000)}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 't', tokens, 's', clock[1], 'u', clock[2])
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {1, math.floor(tokens * 1000), 0}
"""
TOKEN_BUCKET_SHA = hashlib.sha1(TOKEN_BUCKET_LUA.encode("utf-8")).hexdigest()


def redis_key(key: str) -> str:
    """The Redis key of a bucket: hash-tagged, long keys shortened to a digest."""
    if len(key) > MAX_KEY_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}{{{key}}}"


def redis_client(redis: RedisSettings) -> Any:
    """An asyncio Redis client that fails fast (configured timeout, no client-side retries)."""
    import redis.asyncio as redis_lib
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return redis_lib.Redis.from_url(
        redis.url.get_secret_value(),
        socket_timeout=redis.timeout_seconds,
        socket_connect_timeout=redis.timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )


class RedisBackend:
    """Decisions by the Lua token bucket on a redis.asyncio client."""

    def __init__(self, client: Any) -> None:
        from redis.exceptions import NoScriptError, RedisError

        self.client = client
        self._noscript = NoScriptError
        # What counts as "the backend failed" (the limiter then applies its failure mode).
        self.errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

    @classmethod
    def from_settings(cls, redis: RedisSettings) -> RedisBackend:
        return cls(redis_client(redis))

    async def decide(self, key: str, rule: RateLimitRule, cost: int = 1) -> Decision:
        check_cost(cost)
        args = (redis_key(key), rule.capacity, rule.refill_per_second, cost)
        try:
            reply = await self.client.evalsha(TOKEN_BUCKET_SHA, 1, *args)
        except self._noscript:
            reply = await self.client.eval(TOKEN_BUCKET_LUA, 1, *args)
        allowed, milli_tokens, wait_ms = reply
        return Decision.model_construct(
            allowed=bool(allowed),
            remaining=milli_tokens // 1000,
            retry_after=None if wait_ms < 0 else wait_ms / 1000,
            reset_after=max(0.0, (rule.capacity - milli_tokens / 1000) / rule.refill_per_second),
            limit=rule.capacity,
            source="redis",
        )

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def aclose(self) -> None:
        await self.client.aclose()
