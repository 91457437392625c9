"""The token-bucket algorithm core and the in-memory backend (deterministic clocks)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinxctl.ratelimit import MemoryBackend, RateLimitRule, take

RULE = RateLimitRule(capacity=10, refill_per_second=2.0)


def test_new_bucket_starts_full_and_takes_the_cost() -> None:
    state, decision = take(None, RULE, 3, now=100.0)
    assert decision.allowed and decision.remaining == 7 and decision.retry_after == 0.0
    assert state is not None and (state.tokens, state.at) == (7.0, 100.0)
    assert decision.reset_after == pytest.approx(1.5)  # 3 tokens at 2/s
    assert decision.limit == 10


def test_refusal_says_when_the_same_cost_fits() -> None:
    state, first = take(None, RULE, 9, now=0.0)
    state, second = take(state, RULE, 4, now=0.5)  # 1 + 0.5 * 2 = 2 tokens present
    assert first.allowed and not second.allowed
    assert second.remaining == 2
    assert second.retry_after == pytest.approx(1.0)  # 2 more tokens at 2/s
    state, third = take(state, RULE, 4, now=1.5)
    assert third.allowed and third.remaining == 0


def test_refill_never_exceeds_capacity() -> None:
    state, _ = take(None, RULE, 10, now=0.0)
    state, decision = take(state, RULE, 1, now=1_000_000.0)
    assert decision.remaining == 9


def test_cost_above_capacity_is_refused_and_leaves_the_bucket_alone() -> None:
    state, _ = take(None, RULE, 4, now=0.0)
    unchanged, decision = take(state, RULE, 11, now=0.0)
    assert unchanged is None
    assert not decision.allowed and decision.retry_after is None and decision.remaining == 6


def test_clock_going_backwards_adds_nothing() -> None:
    state, _ = take(None, RULE, 10, now=50.0)
    _, decision = take(state, RULE, 1, now=40.0)
    assert not decision.allowed and decision.remaining == 0


@pytest.mark.parametrize("cost", [0, -1, 1.5, True, "1"])
def test_cost_must_be_a_positive_integer(cost: object) -> None:
    with pytest.raises(ValueError):
        MemoryBackend().decide_now("k", RULE, cost)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 50),
    rate=st.floats(0.01, 20.0),
    steps=st.lists(st.tuples(st.floats(0.0, 5.0), st.integers(1, 60)), max_size=60),
)
def test_admitted_cost_never_exceeds_capacity_plus_refill(
    capacity: int, rate: float, steps: list[tuple[float, int]]
) -> None:
    rule = RateLimitRule(capacity=capacity, refill_per_second=rate)
    state = None
    now = admitted = 0.0
    for delay, cost in steps:
        now += delay
        new_state, decision = take(state, rule, cost, now)
        state = new_state or state
        if decision.allowed:
            admitted += cost
        else:
            assert decision.retry_after is None or decision.retry_after > 0
            assert (decision.retry_after is None) == (cost > capacity)
        assert 0 <= decision.remaining <= capacity
        assert admitted <= capacity + rate * now + 1e-6


def test_memory_backend_keeps_one_bucket_per_key() -> None:
    clock = [0.0]
    backend = MemoryBackend(clock=lambda: clock[0])
    rule = RateLimitRule(capacity=3, refill_per_second=1.0)
    assert [backend.decide_now("a", rule).allowed for _ in range(4)] == [True] * 3 + [False]
    assert backend.decide_now("b", rule).allowed
    clock[0] = 1.0
    assert backend.decide_now("a", rule).allowed
    assert not backend.decide_now("a", rule).allowed


async def test_memory_backend_is_bounded() -> None:
    backend = MemoryBackend(max_buckets=100)
    rule = RateLimitRule(capacity=1, refill_per_second=0.001)
    for i in range(1000):
        assert (await backend.decide(f"k{i}", rule)).allowed
    assert len(backend) == 100
    # the most recent buckets are kept (and still empty)
    assert not (await backend.decide("k999", rule)).allowed


def test_remaining_is_floored() -> None:
    rule = RateLimitRule(capacity=5, refill_per_second=1.0)
    state, _ = take(None, rule, 5, now=0.0)
    _, decision = take(state, rule, 1, now=2.9)
    assert decision.allowed and decision.remaining == math.floor(2.9 - 1)
