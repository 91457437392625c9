"""The Redis token bucket against a real redis-server: atomicity under concurrency, costs, one
EVALSHA per decision, NOSCRIPT, and Redis killed mid-run under each failure mode."""

from __future__ import annotations

import asyncio
import random

import pytest
from pydantic import SecretStr

from sphinxctl.metrics import REGISTRY
from sphinxctl.ratelimit import Decision, RateLimiter, RateLimitRule, RedisBackend
from sphinxctl.settings.sections import RedisSettings
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration


SLOW = 0.0001  # refill per second: far below one token over a test's duration


def rule(capacity: int, refill: float = SLOW) -> RateLimitRule:
    return RateLimitRule(capacity=capacity, refill_per_second=refill)


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def commandstats(server: RedisServer) -> dict[str, int]:
    info = server.command("INFO", "commandstats")
    calls: dict[str, int] = {}
    for line in str(info).splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line[len("cmdstat_") :].partition(":")
            calls[name] = int(rest.split("calls=")[1].split(",")[0])
    return calls


async def test_64_concurrent_clients_on_one_bucket_admit_exactly_capacity(
    redis: RedisServer,
) -> None:
    capacity = 100
    limiters = [
        RateLimiter(RedisBackend(redis.url, timeout=5.0), failure_mode="closed") for _ in range(64)
    ]
    start = asyncio.Event()

    async def client(limiter: RateLimiter) -> list[Decision]:
        await start.wait()
        return [await limiter.decide("shared", rule(capacity)) for _ in range(5)]

    tasks = [asyncio.create_task(client(limiter)) for limiter in limiters]
    await asyncio.sleep(0)
    start.set()
    decisions = [d for batch in await asyncio.gather(*tasks) for d in batch]
    admitted = [d for d in decisions if d.allowed]
    errors = {lim.last_error for lim in limiters}
    assert len(decisions) == 320 and {d.source for d in decisions} == {"redis"}, errors
    assert len(admitted) == capacity
    # every admitted request saw a different number of tokens left: the take is atomic
    assert sorted(d.remaining for d in admitted) == list(range(capacity))
    assert all(d.retry_after and d.retry_after > 1000 for d in decisions if not d.allowed)
    for limiter in limiters:
        await limiter.aclose()


async def test_mixed_costs(redis: RedisServer) -> None:
    limiter = RateLimiter(RedisBackend(redis.url), failure_mode="closed")
    bucket = rule(10, refill=0.5)
    results = [await limiter.decide("mixed", bucket, cost) for cost in (3, 3, 3, 3, 1, 1)]
    assert [d.allowed for d in results] == [True, True, True, False, True, False]
    assert [d.remaining for d in results] == [7, 4, 1, 1, 0, 0]
    assert results[3].retry_after == pytest.approx(4.0, abs=0.05)  # 2 tokens at 0.5/s
    assert results[5].retry_after == pytest.approx(2.0, abs=0.05)
    await limiter.aclose()


async def test_concurrent_mixed_costs_are_serialisable(redis: RedisServer) -> None:
    capacity = 200
    limiter = RateLimiter(RedisBackend(redis.url, timeout=5.0), failure_mode="closed")
    costs = [random.Random(i).randint(1, 9) for i in range(150)]
    decisions = await asyncio.gather(*(limiter.decide("costs", rule(capacity), c) for c in costs))
    assert {d.source for d in decisions} == {"redis"}, limiter.last_error
    admitted = sorted(
        ((d.remaining, c) for c, d in zip(costs, decisions, strict=True) if d.allowed),
        reverse=True,
    )
    # replaying the admitted requests in the order their answers imply adds up exactly
    left = capacity
    for remaining, cost in admitted:
        left -= cost
        assert remaining == left
    for cost, decision in zip(costs, decisions, strict=True):
        if not decision.allowed:
            assert decision.remaining < cost
    tokens = float(redis.command("HGET", "sphinx:rl:{costs}", "t"))
    assert tokens == pytest.approx(left, abs=0.01)
    await limiter.aclose()


async def test_cost_above_capacity_is_rejected_without_touching_the_bucket(
    redis: RedisServer,
) -> None:
    limiter = RateLimiter(RedisBackend(redis.url), failure_mode="open")
    decision = await limiter.decide("big", rule(5), cost=6)
    assert (decision.allowed, decision.retry_after, decision.source) == (False, None, "redis")
    assert redis.command("EXISTS", "sphinx:rl:{big}") == 0
    assert (await limiter.decide("big", rule(5), cost=5)).allowed
    await limiter.aclose()


async def test_one_evalsha_per_decision(redis: RedisServer) -> None:
    limiter = RateLimiter(RedisBackend(redis.url), failure_mode="closed")
    await limiter.decide("warm-up", rule(5))  # connection handshake happens here
    redis.command("CONFIG", "RESETSTAT")
    for i in range(50):
        await limiter.decide(f"user-{i % 7}", rule(5, refill=1.0), cost=1 + i % 3)
    calls = commandstats(redis)
    script_internal = {"time", "hmget", "hset", "pexpire"}
    inspection = {"info", "config|resetstat"}
    sent_by_client = {k: v for k, v in calls.items() if k not in script_internal | inspection}
    assert sent_by_client == {"evalsha": 50}
    assert calls["time"] == calls["hmget"] == 50
    await limiter.aclose()


async def test_noscript_is_answered_with_eval(redis: RedisServer) -> None:
    limiter = RateLimiter(RedisBackend(redis.url), failure_mode="closed")
    assert (await limiter.decide("ns", rule(3))).remaining == 2
    redis.command("SCRIPT", "FLUSH")
    redis.command("CONFIG", "RESETSTAT")
    assert (await limiter.decide("ns", rule(3))).remaining == 1
    assert (await limiter.decide("ns", rule(3))).remaining == 0
    calls = commandstats(redis)
    assert (calls["evalsha"], calls["eval"]) == (2, 1)  # one NOSCRIPT, one EVAL, then EVALSHA
    assert not limiter.degraded
    await limiter.aclose()


async def test_keys_are_hash_tagged_and_expire_when_full_again(redis: RedisServer) -> None:
    limiter = RateLimiter(RedisBackend(redis.url), failure_mode="closed")
    await limiter.decide_request("GET /api/v1/contracts", None, "sub:alice")
    keys = redis.command("KEYS", "sphinx:rl:*")
    assert keys == ["sphinx:rl:{default|sub:alice}"]
    # default rule 60 tokens at 1/s: one token taken -> full again after 1 s (+1 s margin)
    ttl = redis.command("PTTL", keys[0])
    assert isinstance(ttl, int) and 1000 < ttl <= 2000
    long_key = "sub:" + "x" * 500
    await limiter.decide(long_key, rule(2))
    assert len(redis.command("KEYS", "sphinx:rl:{sha256:*}")) == 1
    await limiter.aclose()


# --- Redis killed mid-run ------------------------------------------------------------------
def limiter_for(server: RedisServer, mode: str) -> RateLimiter:
    settings = RedisSettings(
        url=SecretStr(server.url),
        failure_mode=mode,
        replicas=4,
        timeout_seconds=0.5,
        reconnect_interval_seconds=0.05,
    )
    return RateLimiter(
        RedisBackend.from_settings(settings),
        failure_mode=settings.failure_mode,
        replicas=settings.replicas,
        reconnect_interval=settings.reconnect_interval_seconds,
    )


async def until(
    limiter: RateLimiter, bucket: RateLimitRule, source: str, key: str = "victim"
) -> list[Decision]:
    """Decide (with short pauses) until a decision comes from `source`; all decisions made."""
    seen: list[Decision] = []
    for _ in range(400):
        decision = await limiter.decide(key, bucket)
        seen.append(decision)
        if decision.source == source:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"no decision from {source} after {len(seen)} tries: {seen[-1]}")


@pytest.mark.parametrize("mode", ["open", "closed", "local"])
async def test_redis_killed_mid_run_then_back(own_redis: RedisServer, mode: str) -> None:
    limiter = limiter_for(own_redis, mode)
    bucket = rule(20)
    errors_before = metric("sphinxos_rate_limit_backend_errors_total")

    before = [await limiter.decide("victim", bucket) for _ in range(5)]
    assert [d.source for d in before] == ["redis"] * 5 and before[-1].remaining == 15

    # a stream of concurrent decisions keeps going while Redis dies
    stop = asyncio.Event()
    background: list[Decision] = []

    async def traffic() -> None:
        while not stop.is_set():
            background.append(await limiter.decide("background", bucket))
            await asyncio.sleep(0.002)

    runner = asyncio.create_task(traffic())
    await asyncio.sleep(0.05)
    own_redis.kill()
    during = await until(
        limiter, bucket, {"open": "fail-open", "closed": "fail-closed"}.get(mode, "local")
    )
    during += [await limiter.decide("victim", bucket) for _ in range(10)]
    fallback = [d for d in during if d.source != "redis"]
    assert metric("sphinxos_rate_limit_fallback_active") == 1.0
    assert metric("sphinxos_rate_limit_backend_errors_total") > errors_before
    assert limiter.degraded
    if mode == "open":
        assert all(d.allowed and d.source == "fail-open" for d in fallback)
    elif mode == "closed":
        assert not any(d.allowed for d in fallback)
        assert {d.source for d in fallback} == {"fail-closed"}
    else:  # local: this replica's share (1/4) of the 15 tokens Redis last reported
        assert {d.source for d in fallback} == {"local"}
        assert sum(d.allowed for d in fallback) == 3
        assert fallback[0].limit == 5

    own_redis.start()  # same port, empty data (no persistence): the buckets would be full ...
    after = await until(limiter, bucket, "redis")
    # ... but the local level (x4 replicas) was written back first: no tokens handed out twice
    assert after[-1].remaining == (19 if mode != "local" else 2)
    assert metric("sphinxos_rate_limit_fallback_active") == 0.0
    assert not limiter.degraded
    count = len(background)
    while len(background) < count + 3:  # the background stream is served by Redis again
        await asyncio.sleep(0.005)
    stop.set()
    await runner
    sources = [d.source for d in background]
    assert "redis" in sources and sources[-1] == "redis"
    assert any(s != "redis" for s in sources)
    await limiter.aclose()


async def test_a_hung_redis_trips_the_timeout(own_redis: RedisServer) -> None:
    """A server that accepts but never answers (SIGSTOP) costs one timeout, then fallback."""
    limiter = limiter_for(own_redis, "closed")
    assert (await limiter.decide("hung", rule(5))).source == "redis"
    own_redis.freeze()
    try:
        decision = await limiter.decide("hung", rule(5))
        assert decision.source == "fail-closed" and not decision.allowed
        assert "TimeoutError" in str(limiter.last_error)
    finally:
        own_redis.thaw()
    after = await until(limiter, rule(5), "redis", key="hung")
    # the timed-out EVALSHA sat in the frozen server's socket buffer and may have run on thaw
    assert after[-1].allowed and after[-1].remaining in (2, 3)
    await limiter.aclose()
