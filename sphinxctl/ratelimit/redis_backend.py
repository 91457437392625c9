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

The hot path is lean on purpose: the command is pre-encoded and sent on a pipelining
connection of our own (resp.py: commands issued in the same event-loop turn share one socket
write, replies are parsed from one read), answered by a single integer within the timeout (a
reply that arrived in time but was not yet read by a busy event loop still counts). Each
connection carries at most `pipeline_depth` commands in flight; then another is opened, up to
`max_connections`; further callers queue for a free slot (the timeout starts once they have
one), so a burst waits instead of failing, and a new connection that cannot be opened while
others work sends its caller to the queue too. A command that times out or fails closes every
connection (after an outage they are all dead): the commands in flight and the queued callers
fail at once instead of each waiting out its own timeout, and the next decision connects
afresh — that is how the backend reconnects when Redis returns.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
from typing import TYPE_CHECKING, Any

from sphinxctl.ratelimit.bucket import Decision, check_cost
from sphinxctl.ratelimit.resp import RespConnection, open_connection
from sphinxctl.settings.sections import RateLimitRule

if TYPE_CHECKING:
    from sphinxctl.settings.sections import RedisSettings

KEY_PREFIX = "sphinx:rl:"
REVOKED_PREFIX = "sphinx:revoked:"  # the key auth.revocation writes
REPLICAS_KEY = "sphinx:replicas"
MAX_KEY_CHARS = 200
DEFAULT_MAX_CONNECTIONS = 32
PIPELINE_DEPTH = 64  # commands in flight per connection before another one is opened

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
        self,
        url: str,
        *,
        timeout: float = 0.5,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pipeline_depth: int = PIPELINE_DEPTH,
    ) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoScriptError, RedisError

        self._url = url
        self._timeout = timeout
        self.max_connections = max(1, max_connections)
        self.pipeline_depth = max(1, pipeline_depth)
        self._connect_timeout = max(1.0, 2 * timeout)
        self._conns: list[RespConnection] = []
        self._connecting = False
        self._waiters: collections.deque[asyncio.Future[RespConnection]] = collections.deque()
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
        """Send `packed` (`replies` commands) on a connection with room in its pipeline;
        the last reply. Each reply is due within the timeout (see `_expire`)."""
        conn = self._free_connection()
        if conn is None:
            conn = await self._acquire(replies)
        else:
            conn.inflight += replies
        if replies == 1:  # the hot path: one EVALSHA
            future = conn.send_one(packed)
            timer = asyncio.get_running_loop().call_later(
                self._timeout, self._expire, conn, future, False
            )
            try:
                return await future
            finally:
                timer.cancel()
                future.cancel()  # no-op once answered; an unread reply is then skipped
                if self._waiters:
                    self._wake()
        futures = conn.send(packed, replies)
        timer = asyncio.get_running_loop().call_later(
            self._timeout, self._expire, conn, futures[-1], False
        )
        try:
            for future in futures:
                reply = await future
        finally:
            timer.cancel()
            for future in futures:
                future.cancel()
            if self._waiters:
                self._wake()
        return reply

    @property
    def open_connections(self) -> int:
        """Connections open now (at most max_connections)."""
        return len(self._conns)

    def _free_connection(self) -> RespConnection | None:
        """The first open connection with room in its pipeline (so that, while one
        suffices, every command shares its writes and reads)."""
        for conn in self._conns:
            if conn.inflight < self.pipeline_depth:
                return conn
        return None

    async def _acquire(self, slots: int) -> RespConnection:
        """A connection with `slots` reserved: a new one (up to max_connections, one
        opening at a time), else the next one to free room (queued, first come first
        served)."""
        if len(self._conns) < self.max_connections and not self._connecting:
            self._connecting = True
            try:
                conn = await open_connection(self._url, self._connect_timeout, self._lost)
            except BaseException as exc:
                self._connecting = False
                if not self._conns:  # nothing established to wait for
                    self._fail_waiters(exc)
                    raise
                # Others work (a busy loop can time a connect out): queue for one of them.
            else:
                self._connecting = False
                self._conns.append(conn)
                conn.inflight += slots
                self._wake()
                return conn
        waiter: asyncio.Future[RespConnection] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                waiter.result().inflight -= 1  # hand back the slot reserved for us
            raise
        conn.inflight += slots - 1  # one slot was reserved by _wake
        return conn

    def _wake(self) -> None:
        """Hand free pipeline slots to queued callers (one reserved slot each)."""
        while self._waiters:
            conn = self._free_connection()
            if conn is None:
                return
            waiter = self._waiters.popleft()
            if not waiter.done():
                conn.inflight += 1
                waiter.set_result(conn)

    def _fail_waiters(self, exc: BaseException) -> None:
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(self._down(f"Redis failed: {type(exc).__name__}"))

    def _expire(self, conn: RespConnection, future: asyncio.Future[Any], last: bool) -> None:
        """The timeout passed without a reply. A busy event loop can run this timer before
        it reads a reply that arrived in time: the first expiry waits one more loop turn
        (a 0 s timer runs after the next I/O poll); a reply found by then is used."""
        if future.done():
            return
        if not last:
            asyncio.get_running_loop().call_later(0, self._expire, conn, future, True)
            return
        self._drop(TimeoutError(f"Redis did not answer within {self._timeout} s"))

    def _drop(self, exc: BaseException) -> None:
        """A command failed: close every connection (after an outage they are all dead),
        which fails the commands waiting on them, and the queued callers, at once rather
        than one timeout each. The next command connects afresh."""
        conns, self._conns = self._conns, []
        for conn in conns:
            conn.close(exc)
        self._fail_waiters(exc)

    def _lost(self, conn: RespConnection) -> None:
        """A connection closed (Redis went away, or _drop): forget it."""
        if conn in self._conns:
            self._conns.remove(conn)
            if not self._conns:
                self._fail_waiters(self._down("Redis closed the connection"))

    async def ping(self) -> bool:
        """One PING through the same connections (health checks)."""
        return bool(await self._call(b"*1\r\n$4\r\nPING\r\n"))

    async def aclose(self) -> None:
        conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
