"""The API against a real redis-server under bursts: one Redis command per authenticated
request (INFO commandstats), revocation effective on the next request, one subject's burst of
500 never denying another subject, and the limits holding across a Redis pause or kill."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from sphinxctl.ratelimit import RateLimiter, RateLimitRule, RedisBackend
from tests.ratelimit.test_ratelimit_redis import commandstats
from tests.support.api_env import ServeProcess, auth, base_config, link_project, load, write_config
from tests.support.redis_server import RedisServer, shared_redis

pytestmark = pytest.mark.integration

CAPACITY, REFILL = 20, 1.0
OUTCOMES: list[str] = []  # unexpected answers, for the failure messages


@pytest.fixture
def redis() -> RedisServer:
    server = shared_redis()
    server.flushall()
    return server


def project(root: Path, redis_url: str, **redis: Any) -> Path:
    """An offline project (chains on closed ports) limited to CAPACITY, REFILL per subject."""
    link_project(root)
    config = base_config(redis_url)
    config["api"]["default_rate_limit"] = {"capacity": CAPACITY, "refill_per_second": REFILL}
    config["redis"].update(redis)
    return write_config(root, config)


def tokens(config_dir: Path, *subjects: str) -> dict[str, tuple[str, str]]:
    """subject -> (token, jti), role viewer."""
    from sphinxctl.auth import KeySet, issue_token

    settings = load(config_dir)
    keyset = KeySet.from_settings(settings.auth, config_dir.parent)
    issued = {s: issue_token(keyset, settings.auth, s, "viewer", 3600) for s in subjects}
    return {s: (token, claims.jti) for s, (token, claims) in issued.items()}


def test_an_authenticated_rate_limited_request_costs_one_redis_command(
    tmp_path: Path, redis: RedisServer
) -> None:
    from sphinxctl.api import create_app
    from sphinxctl.auth import RedisRevocations, revoke

    config_dir = project(tmp_path, redis.url, heartbeat_seconds=300)
    settings = load(config_dir)
    settings.api.default_rate_limit = RateLimitRule(capacity=1000, refill_per_second=100)
    issued = tokens(config_dir, "alice", "bob")
    with TestClient(create_app(settings, tmp_path, poll_interval=3600)) as client:
        for subject in issued:  # warm: script cached, tokens verified once
            assert client.get("/api/v1/auth/whoami", headers=auth(issued[subject][0])).is_success
        redis.command("CONFIG", "RESETSTAT")
        requests = 50
        for i in range(requests):
            token = issued["alice" if i % 2 else "bob"][0]
            assert client.get("/api/v1/auth/whoami", headers=auth(token)).status_code == 200
        calls = commandstats(redis)
        # commandstats also counts the commands the script runs inside Redis
        inside = {name: calls.pop(name, 0) for name in ("exists", "time", "hmget", "hset")}
        calls.pop("pexpire", None)
        calls.pop("config|resetstat", None)
        calls.pop("info", None)
        assert calls == {"evalsha": requests}  # one round trip per request, nothing else
        assert inside["exists"] == requests  # ... which checked the token's revocation
        assert inside["hset"] == requests

        # a revocation takes effect on the very next request (no cache in between)
        store = RedisRevocations.from_settings(settings.redis)
        revoke(store, settings.auth, issued["alice"][1])
        store.close()
        refused = client.get("/api/v1/auth/whoami", headers=auth(issued["alice"][0]))
        assert refused.status_code == 401 and refused.json()["details"]["reason"] == "revoked"
        assert client.get("/api/v1/auth/whoami", headers=auth(issued["bob"][0])).is_success


async def _burst(url: str, token: str, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.get(url, headers=auth(token)) for _ in range(count))
        )
    return [_outcome(r) for r in responses]


def _outcome(response: httpx.Response) -> int:
    if response.status_code not in (200, 429):
        OUTCOMES.append(f"{response.status_code} {response.text[:300]}")
    return response.status_code


def _steady(url: str, token: str, stop: threading.Event, seen: list[int]) -> None:
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            seen.append(_outcome(client.get(url, headers=auth(token))))
            time.sleep(1.0 / REFILL)  # within its limit: at most the refill rate


@pytest.mark.parametrize("outage", ["pause", "kill"])
def test_bursts_of_500_from_one_subject_never_deny_another_and_never_over_admit(
    tmp_path: Path, own_redis: RedisServer, outage: str
) -> None:
    """Burst, then Redis paused (SIGSTOP) or killed, burst again, Redis back, a last burst;
    meanwhile another subject calls steadily within its limit."""
    OUTCOMES.clear()
    config_dir = project(tmp_path, own_redis.url, reconnect_interval_seconds=0.2)
    issued = tokens(config_dir, "flood", "quiet")
    with ServeProcess(config_dir) as server:
        url = server.url + "/api/v1/auth/whoami"
        assert httpx.get(url, headers=auth(issued["quiet"][0])).status_code == 200
        quiet: list[int] = []
        stop = threading.Event()
        steady = threading.Thread(target=_steady, args=(url, issued["quiet"][0], stop, quiet))
        began = time.monotonic()
        steady.start()
        statuses: list[int] = []
        try:
            statuses += asyncio.run(_burst(url, issued["flood"][0], 500))
            first = time.monotonic() - began
            # Redis up: the capacity, plus what refilled while the burst was served
            assert CAPACITY <= statuses.count(200) <= CAPACITY + REFILL * first
            own_redis.freeze() if outage == "pause" else own_redis.kill()
            statuses += asyncio.run(_burst(url, issued["flood"][0], 500))
            own_redis.thaw() if outage == "pause" else own_redis.start()
            time.sleep(0.5)
            statuses += asyncio.run(_burst(url, issued["flood"][0], 100))
        finally:
            stop.set()
            steady.join()
            own_redis.thaw() if outage == "pause" else None
        elapsed = time.monotonic() - began
    admitted = statuses.count(200)
    # The flood's own token may be refused during the outage: Redis last confirmed it
    # unrevoked more than auth.revocation_grace_seconds before its last answer (the client
    # spends seconds closing 500 connections while the quiet subject keeps Redis busy).
    assert set(statuses) <= {200, 429, 503}, OUTCOMES[:5]
    assert all("revocation-unavailable" in outcome for outcome in OUTCOMES), OUTCOMES[:5]
    assert admitted <= CAPACITY + REFILL * elapsed, (admitted, elapsed)
    assert quiet and set(quiet) == {200}, (quiet, OUTCOMES[:5])


async def test_the_local_fallback_never_over_admits_across_a_kill_and_restart(
    own_redis: RedisServer,
) -> None:
    """64 concurrent callers on one bucket while Redis dies and comes back (empty)."""
    rule = RateLimitRule(capacity=CAPACITY, refill_per_second=5.0)
    limiter = RateLimiter(
        RedisBackend(own_redis.url, timeout=0.3), failure_mode="local", reconnect_interval=0.1
    )
    admitted: list[float] = []
    stop = asyncio.Event()

    async def caller() -> None:
        while not stop.is_set():
            if (await limiter.decide("one", rule)).allowed:
                admitted.append(time.monotonic())
            await asyncio.sleep(0.005)

    began = time.monotonic()
    callers = [asyncio.create_task(caller()) for _ in range(64)]
    await asyncio.sleep(0.5)
    await asyncio.to_thread(own_redis.kill)
    await asyncio.sleep(0.7)
    assert limiter.degraded
    await asyncio.to_thread(own_redis.start)
    await asyncio.sleep(0.8)
    stop.set()
    await asyncio.gather(*callers)
    elapsed = time.monotonic() - began
    assert not limiter.degraded
    assert len(admitted) <= CAPACITY + rule.refill_per_second * elapsed, (len(admitted), elapsed)
    await limiter.aclose()


async def test_a_burst_beyond_the_pool_queues_instead_of_failing(redis: RedisServer) -> None:
    backend = RedisBackend(redis.url, timeout=2.0, max_connections=4)
    limiter = RateLimiter(backend, failure_mode="closed")
    rule = RateLimitRule(capacity=1000, refill_per_second=1)
    decisions = await asyncio.gather(*(limiter.decide(f"k{i % 7}", rule) for i in range(500)))
    assert {d.source for d in decisions} == {"redis"} and all(d.allowed for d in decisions)
    assert not limiter.degraded and backend.open_connections <= 4
    await limiter.aclose()


async def test_the_live_replica_count_divides_the_local_limits(redis: RedisServer) -> None:
    from sphinxctl.ratelimit.replicas import ReplicaHeartbeat

    limiters = [RateLimiter(RedisBackend(redis.url), replicas=10) for _ in range(3)]
    beats = [ReplicaHeartbeat(limiter, interval=30) for limiter in limiters]
    counts = [await beat.beat() for beat in beats]
    assert counts == [1, 2, 3]
    assert await beats[0].beat() == 3 and limiters[0].replicas == 3  # not the configured 10
    for beat in beats:
        beat.start()
    await beats[2].stop()  # a replica leaving removes itself
    assert await beats[0].beat() == 2 and limiters[0].replicas == 2
    for beat, limiter in zip(beats, limiters, strict=True):
        await beat.stop()
        await limiter.aclose()


def test_revocation_in_the_same_call_with_settings_from_the_environment(
    redis: RedisServer,
) -> None:
    """The Redis URL of settings reaches both sides (the limiter reads what revoke writes)."""
    from sphinxctl.settings.sections import RedisSettings

    settings = RedisSettings(url=SecretStr(redis.url))
    backend = RedisBackend.from_settings(settings)
    assert backend.max_connections == settings.max_connections
