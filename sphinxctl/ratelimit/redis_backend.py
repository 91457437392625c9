"""Token buckets in Redis: one EVALSHA per decision.

The Lua script refills the bucket from the server's clock (`TIME`, so replicas with skewed
clocks agree), takes the cost when it can, stores the state and sets the key's TTL to the time
the bucket needs to be full again (an expired key *is* a full bucket) — all in one atomic call.
Keys are hash-tagged (`sphinx:rl:{<key>}`) so a Redis Cluster places each bucket on one slot.
The script is sent by SHA; after a server restart or SCRIPT FLUSH the NOSCRIPT reply is
answered once with EVAL (which also caches the script again).

The hot path is lean on purpose: the command is pre-encoded, written on an idle redis-py
connection kept by the backend (not the client's pool with its locks and per-command
instrumentation) and answered by a single integer, under one `asyncio.timeout`. A connection
that fails is dropped together with every idle one (after an outage they are all dead), and
the next decision connects afresh — that is how the backend reconnects when Redis returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import TYPE_CHECKING, Any

from sphinxctl.ratelimit.bucket import Decision, check_cost
from sphinxctl.settings.sections import RateLimitRule

if TYPE_CHECKING:
    from sphinxctl.settings.sections import RedisSettings

KEY_PREFIX = "sphinx:rl:"
MAX_KEY_CHARS = 200

# KEYS[1] bucket; ARGV capacity, refill per second, cost. State: t = tokens, s/u = the server
# TIME (seconds, microseconds) of the last take. The reply is ONE integer (the cheapest reply
# to parse): the milli-tokens left when admitted, or -(milli-tokens + 1) when refused; the
# caller derives retry-after and reset from it.
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
if cost > capacity or tokens < cost then
  return -math.floor(tokens * 1000) - 1
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 't', tokens, 's', clock[1], 'u', clock[2])
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return math.floor(tokens * 1000)
"""
TOKEN_BUCKET_SHA = hashlib.sha1(TOKEN_BUCKET_LUA.encode("utf-8")).hexdigest()


def redis_key(key: str) -> str:
    """The Redis key of a bucket: hash-tagged, long keys shortened to a digest."""
    if len(key) > MAX_KEY_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}{{{key}}}"


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


_EVALSHA = b"*7\r\n" + _bulk(b"EVALSHA") + _bulk(TOKEN_BUCKET_SHA.encode("ascii")) + _bulk(b"1")
_EVAL = b"*7\r\n" + _bulk(b"EVAL") + _bulk(TOKEN_BUCKET_LUA.encode("utf-8")) + _bulk(b"1")
MAX_IDLE_CONNECTIONS = 64


def decision_from_reply(reply: int, rule: RateLimitRule, cost: int) -> Decision:
    """Decode the script's integer reply (see TOKEN_BUCKET_LUA)."""
    allowed = reply >= 0
    tokens = (reply if allowed else -reply - 1) / 1000
    if allowed:
        retry_after: float | None = 0.0
    elif cost > rule.capacity:
        retry_after = None
    else:
        retry_after = max(0.0, (cost - tokens) / rule.refill_per_second)
    return Decision.model_construct(
        allowed=allowed,
        remaining=int(tokens),
        retry_after=retry_after,
        reset_after=max(0.0, (rule.capacity - tokens) / rule.refill_per_second),
        limit=rule.capacity,
        source="redis",
    )


class RedisBackend:
    """Decisions by the Lua token bucket, one EVALSHA each, on Redis at `url`.

    `timeout` bounds connecting and each decision (seconds). `errors` lists what the limiter
    treats as "the backend is down".
    """

    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        from redis.asyncio.connection import ConnectionPool
        from redis.exceptions import NoScriptError, RedisError

        # The pool is only a connection factory here (URL parsing, AUTH, SELECT, TLS).
        self._factory = ConnectionPool.from_url(
            url, socket_timeout=None, socket_connect_timeout=timeout
        )
        self._timeout = timeout
        self._idle: list[Any] = []
        self._noscript = NoScriptError
        self._tails: dict[tuple[int, float], bytes] = {}
        self.errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

    @classmethod
    def from_settings(cls, redis: RedisSettings) -> RedisBackend:
        return cls(redis.url.get_secret_value(), timeout=redis.timeout_seconds)

    async def decide(self, key: str, rule: RateLimitRule, cost: int = 1) -> Decision:
        check_cost(cost)
        args = self._tails.get((rule.capacity, rule.refill_per_second))
        if args is None:
            args = _bulk(str(rule.capacity).encode()) + _bulk(
                repr(float(rule.refill_per_second)).encode()
            )
            self._tails[(rule.capacity, rule.refill_per_second)] = args
        args = _bulk(redis_key(key).encode("utf-8")) + args + _bulk(str(cost).encode())
        try:
            reply = await self._call(_EVALSHA + args)
        except self._noscript:
            reply = await self._call(_EVAL + args)
        return decision_from_reply(int(reply), rule, cost)

    async def _call(self, packed: bytes) -> Any:
        conn = self._idle.pop() if self._idle else self._factory.make_connection()
        try:
            async with asyncio.timeout(self._timeout):
                await conn.send_packed_command(packed, check_health=False)
                reply = await conn.read_response()
        except self._noscript:
            await self._release(conn)
            raise
        except BaseException:
            await self._discard(conn)
            raise
        await self._release(conn)
        return reply

    async def _release(self, conn: Any) -> None:
        if len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(conn)
        else:
            await conn.disconnect()

    async def _discard(self, conn: Any) -> None:
        stale, self._idle = [conn, *self._idle], []
        for each in stale:
            with contextlib.suppress(Exception):  # already broken: nothing left to clean up
                await each.disconnect(nowait=True)

    async def ping(self) -> bool:
        """One PING through the same connections (health checks)."""
        return bool(await self._call(b"*1\r\n$4\r\nPING\r\n"))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()
