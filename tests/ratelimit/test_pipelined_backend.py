"""The rate limiter's pipelining Redis connection against a real redis-server: concurrent
decisions share one connection and stay exact, the pipeline depth bounds connections, the
URL's password and database are honoured, a frozen server fails every waiting command at
once, and replies cut anywhere by the socket are parsed whole."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.exceptions import NoScriptError, ResponseError

from sphinxctl.ratelimit import RateLimiter, RateLimitRule, RedisBackend
from sphinxctl.ratelimit.resp import Incomplete, parse_reply
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration


def clients(redis: RedisServer) -> int:
    """Connections the server has now, the helper's own included."""
    return int(str(redis.command("INFO", "clients")).split("connected_clients:")[1].split()[0])


async def test_concurrent_decisions_share_one_connection_and_stay_exact(
    redis: RedisServer,
) -> None:
    before = clients(redis)
    backend = RedisBackend(redis.url, max_connections=8)
    limiter = RateLimiter(backend, failure_mode="closed")
    rule = RateLimitRule(capacity=20, refill_per_second=0.001)
    decisions = await asyncio.gather(*(limiter.decide("shared", rule) for _ in range(48)))
    assert {d.source for d in decisions} == {"redis"}
    assert sum(d.allowed for d in decisions) == 20  # exact: each token handed out once
    assert backend.open_connections == 1 and clients(redis) <= before + 1
    await limiter.aclose()


async def test_the_pipeline_depth_bounds_connections_and_queues_the_rest(
    redis: RedisServer,
) -> None:
    backend = RedisBackend(redis.url, max_connections=3, pipeline_depth=4)
    limiter = RateLimiter(backend, failure_mode="closed")
    rule = RateLimitRule(capacity=1000, refill_per_second=0.001)
    decisions = await asyncio.gather(*(limiter.decide(f"k{i % 5}", rule) for i in range(200)))
    assert {d.source for d in decisions} == {"redis"} and all(d.allowed for d in decisions)
    assert not limiter.degraded and backend.open_connections <= 3
    assert 960 <= float(redis.command("HGET", "sphinx:rl:{k0}", "t")) < 961
    await limiter.aclose()


async def test_the_urls_password_and_database_are_used(own_redis: RedisServer) -> None:
    own_redis.command("CONFIG", "SET", "requirepass", "s3cret")
    base = own_redis.url.removesuffix("/0").replace("redis://", "redis://:s3cret@")
    rule = RateLimitRule(capacity=5, refill_per_second=0.001)
    in_db3, again_db3, in_db0 = (RedisBackend(f"{base}/{db}", timeout=2.0) for db in (3, 3, 0))
    assert (await in_db3.decide("bucket", rule)).remaining == 4
    assert (await again_db3.decide("bucket", rule)).remaining == 3  # the same database
    assert (await in_db0.decide("bucket", rule)).remaining == 4  # another one
    wrong = RedisBackend(f"{base.replace('s3cret', 'wrong')}/3", timeout=2.0)
    with pytest.raises(ResponseError):
        await wrong.decide("bucket", rule)
    for backend in (in_db3, again_db3, in_db0, wrong):
        await backend.aclose()


async def test_a_frozen_server_fails_every_waiting_command_within_one_timeout(
    own_redis: RedisServer,
) -> None:
    backend = RedisBackend(own_redis.url, timeout=0.3)
    rule = RateLimitRule(capacity=100, refill_per_second=1)
    await backend.decide("warm", rule)
    own_redis.freeze()
    try:
        began = time.monotonic()
        outcomes = await asyncio.gather(
            *(backend.decide(f"k{i}", rule) for i in range(30)), return_exceptions=True
        )
        elapsed = time.monotonic() - began
    finally:
        own_redis.thaw()
    assert all(isinstance(o, backend.errors) for o in outcomes), outcomes
    assert elapsed < 2.0, elapsed  # one timeout for all of them, not 30 in a row
    assert backend.open_connections == 0
    assert (await backend.decide("after", rule)).allowed  # connects afresh
    await backend.aclose()


def test_replies_cut_anywhere_are_parsed_whole() -> None:
    errors = {"NOSCRIPT": NoScriptError, "ERR": ResponseError}

    def error(text: str) -> Exception:
        return errors[text.split()[0]](text)

    stream = b":-12\r\n+REVOKED\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$2\r\nab\r\n-NOSCRIPT x\r\n"
    for cut in range(len(stream)):
        parsed, pos = [], 0
        buffer = bytearray(stream[:cut])
        try:
            while pos < len(buffer):
                reply, pos = parse_reply(buffer, pos, error)
                parsed.append(reply)
        except Incomplete:
            pass
        buffer += stream[cut:]
        while pos < len(buffer):
            reply, pos = parse_reply(buffer, pos, error)
            parsed.append(reply)
        assert parsed[:5] == [-12, b"REVOKED", b"hello", None, [1, b"ab"]], cut
        assert isinstance(parsed[5], NoScriptError)
