"""Token buckets in Redis: one EVALSHA per decision (the token's revocation checked in it).

Given a token id (jti), the same script first looks up `sphinx:revoked:<jti>` and answers
`REVOKED` without touching the bucket, so an authenticated, rate-limited request costs one
round trip. (The two keys live in different hash slots: this needs one Redis primary, not a
Redis Cluster.) The Lua script refills the bucket from the server's clock (`TIME`, so replicas
with skewed clocks agree), takes the cost when it can, stores the state and sets the key's
TTL to the time the bucket needs to be full again (an expired key *is* a full bucket), all in
one atomic call. Keys are hash-tagged (`sphinx:rl:{<key>}`) so a Redis Cluster places each
bucket on one slot. The script is sent by SHA; after a server restart or SCRIPT FLUSH the
NOSCRIPT reply is answered once with EVAL (which also caches the script again).

The hot path is lean on purpose: the command is pre-encoded, written on an idle redis-py
connection kept by the backend (not the client's pool with its locks and per-command
instrumentation) and answered by a single integer within the timeout (a reply that arrived
in time but was not yet read by a busy event loop still counts). At most `max_connections`
connections exist; further callers queue for one (the timeout starts once they have it), so a
burst waits instead of failing, and a new connection that cannot be opened while others work
sends its caller to the queue too. A connection that fails is
dropped together with every idle one (after an outage they are all dead), callers queued at
that moment fail at once instead of each waiting out its own timeout, and the next decision
connects afresh — that is how the backend reconnects when Redis returns.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
from typing import TYPE_CHECKING, Any

from sphinxctl.ratelimit.bucket import Decision, check_cost
from sphinxctl.settings.sections import RateLimitRule

if TYPE_CHECKING:
    from sphinxctl.settings.sections import RedisSettings

KEY_PREFIX = "sphinx:rl:"
REVOKED_PREFIX = "sphinx:revoked:"  # the key auth.revocation writes
REPLICAS_KEY = "sphinx:replicas"
MAX_KEY_CHARS = 200
DEFAULT_MAX_CONNECTIONS = 32

# KEYS[1] bucket; ARGV capacity, refill per second, cost. State: t = tokens, s/u = the server
# TIME (seconds, microseconds) of the last take. The reply is ONE integer (the cheapest reply
# to parse): the milli-tokens left when admitted, or -(milli-tokens + 1) when refused; the
# caller derives retry-after and reset from it.
TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.status_reply('REVOKED')
end
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

# After an outage: lower a bucket to the level the local fallback left it at (never raise it).
CLAMP_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local level = tonumber(ARGV[3])
local clock = redis.call('TIME')
local tokens = capacity
local state = redis.call('HMGET', KEYS[1], 't', 's', 'u')
if state[1] and state[2] and state[3] then
  local elapsed = (clock[1] - state[2]) + (clock[2] - state[3]) / 1000000
  tokens = tonumber(state[1])
  if elapsed > 0 then tokens = math.min(capacity, tokens + elapsed * rate) end
end
if level < tokens then tokens = math.max(0, level) end
redis.call('HSET', KEYS[1], 't', tokens, 's', clock[1], 'u', clock[2])
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return 1
"""

# Replica heartbeat: a sorted set of replica ids scored by their last beat (server clock);
# entries older than ARGV[2] seconds are dropped; the reply is the live count.
HEARTBEAT_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000))
return redis.call('ZCARD', KEYS[1])
"""


def redis_key(key: str) -> str:
    """The Redis key of a bucket: hash-tagged, long keys shortened to a digest."""
    if len(key) > MAX_KEY_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}{{{key}}}"


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(_bulk(p) for p in parts)


_SHA = _bulk(TOKEN_BUCKET_SHA.encode("ascii"))
_SCRIPT = _bulk(TOKEN_BUCKET_LUA.encode("utf-8"))
# headers for 1 key + 3 args (7 parts) and 2 keys + 3 args (8 parts)
_EVALSHA = {1: b"*7\r\n" + _bulk(b"EVALSHA") + _SHA + _bulk(b"1")}
_EVALSHA[2] = b"*8\r\n" + _bulk(b"EVALSHA") + _SHA + _bulk(b"2")
_EVAL = {1: b"*7\r\n" + _bulk(b"EVAL") + _SCRIPT + _bulk(b"1")}
_EVAL[2] = b"*8\r\n" + _bulk(b"EVAL") + _SCRIPT + _bulk(b"2")


def decision_from_reply(reply: Any, rule: RateLimitRule, cost: int, checked: bool) -> Decision:
    """Decode the script's reply (see TOKEN_BUCKET_LUA); `checked`: a jti was looked up."""
    if not isinstance(reply, int):  # the REVOKED status: the bucket was not touched
        return Decision.model_construct(
            allowed=False,
            remaining=0,
            retry_after=None,
            reset_after=0.0,
            limit=rule.capacity,
            source="redis",
            revoked=True,
        )
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
        revoked=False if checked else None,
    )


class RedisBackend:
    """Decisions by the Lua token bucket, one EVALSHA each, on Redis at `url`.

    `timeout` bounds connecting and each command once it has a connection (seconds);
    `max_connections` bounds the commands in flight (more callers queue). `errors` lists what
    the limiter treats as "the backend is down".
    """

    checks_revocation = True  # decide(..., jti=) looks the token up in the same script

    def __init__(
        self, url: str, *, timeout: float = 0.5, max_connections: int = DEFAULT_MAX_CONNECTIONS
    ) -> None:
        from redis.asyncio.connection import ConnectionPool
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoScriptError, RedisError

        # The pool is only a connection factory here (URL parsing, AUTH, SELECT, TLS).
        self._factory = ConnectionPool.from_url(
            url, socket_timeout=None, socket_connect_timeout=timeout
        )
        self._timeout = timeout
        self.max_connections = max(1, max_connections)
        self._connect_timeout = max(1.0, 2 * timeout)
        self._open = 0  # connections that exist (idle, in use, or being opened)
        self._connecting = 0
        self._idle: list[Any] = []
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._noscript = NoScriptError
        self._down = RedisConnectionError
        self._tails: dict[tuple[int, float], bytes] = {}
        self.errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

    @classmethod
    def from_settings(cls, redis: RedisSettings) -> RedisBackend:
        return cls(
            redis.url.get_secret_value(),
            timeout=redis.timeout_seconds,
            max_connections=redis.max_connections,
        )

    async def decide(
        self, key: str, rule: RateLimitRule, cost: int = 1, *, jti: str | None = None
    ) -> Decision:
        """One EVALSHA: take `cost` tokens; with `jti`, refuse a revoked token first."""
        check_cost(cost)
        args = self._tails.get((rule.capacity, rule.refill_per_second))
        if args is None:
            args = _bulk(str(rule.capacity).encode()) + _bulk(
                repr(float(rule.refill_per_second)).encode()
            )
            self._tails[(rule.capacity, rule.refill_per_second)] = args
        keys = _bulk(redis_key(key).encode("utf-8"))
        if jti is not None:
            keys += _bulk((REVOKED_PREFIX + jti).encode("utf-8"))
        nkeys = 1 if jti is None else 2
        args = keys + args + _bulk(str(cost).encode())
        try:
            reply = await self._call(_EVALSHA[nkeys] + args)
        except self._noscript:
            reply = await self._call(_EVAL[nkeys] + args)
        return decision_from_reply(reply, rule, cost, jti is not None)

    async def clamp(self, levels: list[tuple[str, RateLimitRule, float]]) -> None:
        """Lower each bucket to at most `level` tokens (pipelined; after a fallback)."""
        if not levels:
            return
        script = CLAMP_LUA.encode("utf-8")
        packed = b"".join(
            _command(
                b"EVAL",
                script,
                b"1",
                redis_key(key).encode("utf-8"),
                str(rule.capacity).encode(),
                repr(float(rule.refill_per_second)).encode(),
                repr(float(level)).encode(),
            )
            for key, rule, level in levels
        )
        await self._call(packed, replies=len(levels))

    async def heartbeat(self, replica: str, ttl: float, *, alive: bool = True) -> int:
        """Register (or, with alive=False, remove) `replica`; the number of live replicas."""
        packed = _command(
            b"EVAL",
            HEARTBEAT_LUA.encode("utf-8"),
            b"1",
            REPLICAS_KEY.encode(),
            replica.encode("utf-8"),
            repr(float(ttl)).encode(),
            b"1" if alive else b"0",
        )
        return int(await self._call(packed))

    async def _call(self, packed: bytes, replies: int = 1) -> Any:
        conn = await self._acquire()
        try:
            await conn.send_packed_command(packed, check_health=False)
            reply = await self._read(conn)
            for _ in range(replies - 1):
                reply = await self._read(conn)
        except self._noscript:
            self._release(conn)
            raise
        except BaseException as exc:
            await self._drop(conn, exc)
            raise
        self._release(conn)
        return reply

    async def _acquire(self) -> Any:
        """An idle connection, else a new one (up to max_connections), else the next one
        released (queued, first come first served)."""
        if self._idle:
            return self._idle.pop()
        if self._open < self.max_connections:
            self._open += 1
            self._connecting += 1
            conn = self._factory.make_connection()
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await conn.connect()
            except BaseException as exc:
                self._open -= 1
                self._connecting -= 1
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
                if self._open - self._connecting == 0:  # nothing established to wait for
                    self._fail_waiters(exc)
                    raise
                # Others work (a busy loop can time a connect out): queue for one of them.
            else:
                self._connecting -= 1
                return conn
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())
            raise

    def _release(self, conn: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _fail_waiters(self, exc: BaseException) -> None:
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(self._down(f"Redis failed: {type(exc).__name__}"))

    async def _drop(self, conn: Any, exc: BaseException) -> None:
        """A command failed: drop its connection and every idle one (after an outage they
        are all dead), and fail the queued callers at once rather than one timeout each."""
        stale, self._idle = [conn, *self._idle], []
        self._open -= len(stale)
        self._fail_waiters(exc)
        for each in stale:
            with contextlib.suppress(Exception):  # already broken: nothing left to clean up
                await each.disconnect(nowait=True)

    async def _read(self, conn: Any) -> Any:
        """One reply within the timeout. A busy event loop (a burst of requests in this
        process) can run the timer before it reads a reply that arrived in time: after the
        timeout, one more loop turn reads the socket, and a reply found then is used."""
        reply = await conn.read_response(timeout=self._timeout, disconnect_on_error=False)
        if reply is None:  # redis-py's "timed out, may be retried"; our replies are never nil
            await asyncio.sleep(0)
            if not await conn.can_read_destructive():
                raise TimeoutError(f"Redis did not answer within {self._timeout} s")
            reply = await conn.read_response(timeout=self._timeout, disconnect_on_error=False)
            if reply is None:
                raise TimeoutError(f"Redis did not answer within {self._timeout} s")
        return reply

    async def ping(self) -> bool:
        """One PING through the same connections (health checks)."""
        return bool(await self._call(b"*1\r\n$4\r\nPING\r\n"))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for conn in idle:
            await conn.disconnect()
