"""The limiter: rules per route and role from config, and failure modes against a Redis that is
not there (a closed port: the real connection error, no mock)."""

from __future__ import annotations

import socket

import pytest

from sphinxctl.metrics import REGISTRY
from sphinxctl.ratelimit import MemoryBackend, RateLimiter, RateLimitRule, RedisBackend
from sphinxctl.settings.sections import ApiSettings

RULE = RateLimitRule(capacity=10, refill_per_second=0.001)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_rule_resolution_route_then_role_then_default() -> None:
    api = ApiSettings(
        default_rate_limit=RateLimitRule(capacity=60, refill_per_second=1),
        rate_limits={"POST /mint": RateLimitRule(capacity=5, refill_per_second=0.1)},
        role_rate_limits={"admin": RateLimitRule(capacity=600, refill_per_second=10)},
    )
    limiter = RateLimiter(MemoryBackend(), api=api)
    assert limiter.rule_for("POST /mint", "admin") == (
        "route:POST /mint",
        api.rate_limits["POST /mint"],
    )
    assert limiter.rule_for("GET /x", "admin") == ("role:admin", api.role_rate_limits["admin"])
    assert limiter.rule_for("GET /x", "viewer") == ("default", api.default_rate_limit)
    assert limiter.rule_for(None, None) == ("default", api.default_rate_limit)


async def test_buckets_are_separate_per_scope_and_client() -> None:
    api = ApiSettings(
        default_rate_limit=RateLimitRule(capacity=2, refill_per_second=0.001),
        rate_limits={"POST /mint": RateLimitRule(capacity=1, refill_per_second=0.001)},
    )
    limiter = RateLimiter(MemoryBackend(), api=api)
    assert (await limiter.decide_request("POST /mint", None, "sub:a")).allowed
    assert not (await limiter.decide_request("POST /mint", None, "sub:a")).allowed
    assert (await limiter.decide_request("POST /mint", None, "sub:b")).allowed
    assert (await limiter.decide_request("GET /x", None, "sub:a")).allowed  # other scope
    assert (await limiter.decide_request("GET /y", None, "sub:a")).allowed  # same default
    assert not (await limiter.decide_request("GET /z", None, "sub:a")).allowed


@pytest.mark.parametrize(
    ("mode", "expected"),
    # local: Redis never reported this bucket, so it starts empty, not full (no free burst)
    [("open", [True] * 12), ("closed", [False] * 12), ("local", [False] * 12)],
)
async def test_failure_modes_when_redis_is_unreachable(mode: str, expected: list[bool]) -> None:
    limiter = RateLimiter(
        RedisBackend(closed_port_url(), timeout=0.5),
        failure_mode=mode,  # type: ignore[arg-type]
        replicas=3,
        reconnect_interval=60,
    )
    errors = metric("sphinxos_rate_limit_backend_errors_total")
    decisions = [await limiter.decide("client", RULE) for _ in range(12)]
    assert [d.allowed for d in decisions] == expected
    assert {d.source for d in decisions} == {
        "open": {"fail-open"},
        "closed": {"fail-closed"},
        "local": {"local"},
    }[mode]
    # one failed attempt, then no more attempts until the reconnect interval has passed
    assert metric("sphinxos_rate_limit_backend_errors_total") == errors + 1
    assert metric("sphinxos_rate_limit_fallback_active") == 1.0
    assert limiter.degraded and limiter.last_error
    if mode == "local":
        assert decisions[0].limit == 3  # capacity 10 shared by 3 replicas
    if mode == "closed":
        assert decisions[-1].retry_after is not None and 0 < decisions[-1].retry_after <= 60
    await limiter.aclose()


async def test_cost_above_capacity_is_refused_even_when_failing_open() -> None:
    limiter = RateLimiter(RedisBackend(closed_port_url()), failure_mode="open")
    decision = await limiter.decide("client", RULE, cost=11)
    assert not decision.allowed and decision.retry_after is None
    assert (await limiter.decide("client", RULE, cost=10)).allowed


async def test_memory_backend_never_degrades() -> None:
    limiter = RateLimiter(MemoryBackend(), failure_mode="closed")
    assert (await limiter.decide("k", RULE)).source == "memory"
    assert not limiter.degraded
