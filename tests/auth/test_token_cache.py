"""The verified-token cache: bounded in entries and in time, never past the token's expiry,
rejections never cached; and the fallback seeding of local buckets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sphinxctl.auth import KeySet, TokenRejected, issue_token
from sphinxctl.auth.cache import VerifiedTokens
from sphinxctl.ratelimit import RateLimiter, RateLimitRule, RedisBackend
from sphinxctl.settings.sections import AuthKey, AuthSettings
from tests.ratelimit.test_ratelimit_limiter import closed_port_url

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth() -> AuthSettings:
    return AuthSettings(
        issuer="https://auth.sphinx.local",
        audience="sphinx-api",
        algorithms=["HS256"],
        active_kid="k1",
        keys=[AuthKey(kid="k1", algorithm="HS256", secret=SecretStr("r" * 40))],
        leeway_seconds=10,
    )


def test_entries_are_bounded_in_number_and_time(auth: AuthSettings) -> None:
    keyset = KeySet.from_settings(auth, Path("."))
    clock = Clock()
    cache = VerifiedTokens(keyset, auth, max_entries=3, max_age=60, clock=clock)
    tokens = [issue_token(keyset, auth, f"s{i}", "viewer", 3600, now=NOW)[0] for i in range(5)]
    for token in tokens:
        assert cache.verify(token).sub.startswith("s")
    assert len(cache) == 3  # the oldest entries were dropped
    clock.now += 61
    assert cache.verify(tokens[-1]).sub == "s4"  # re-verified after max_age, still valid
    assert len(cache) == 3


def test_a_cached_token_expires_with_the_token(auth: AuthSettings) -> None:
    keyset = KeySet.from_settings(auth, Path("."))
    clock = Clock()
    cache = VerifiedTokens(keyset, auth, max_entries=10, max_age=3600, clock=clock)
    token = issue_token(keyset, auth, "short", "viewer", 30, now=NOW)[0]
    assert cache.verify(token).sub == "short"
    clock.now += 30 + auth.leeway_seconds  # exp + leeway: the cache entry ends here too
    with pytest.raises(TokenRejected) as caught:
        cache.verify(token)
    assert caught.value.reason == "expired"


def test_rejected_tokens_are_not_cached(auth: AuthSettings) -> None:
    keyset = KeySet.from_settings(auth, Path("."))
    cache = VerifiedTokens(keyset, auth, max_entries=10, max_age=60)
    token = issue_token(keyset, auth, "x", "viewer", 600)[0]
    for _ in range(3):
        with pytest.raises(TokenRejected):
            cache.verify(token[:-2] + "AA")
    assert len(cache) == 0


async def test_local_buckets_start_from_the_share_of_the_last_known_level() -> None:
    limiter = RateLimiter(
        RedisBackend(closed_port_url(), timeout=0.2), replicas=2, reconnect_interval=60
    )
    rule = RateLimitRule(capacity=20, refill_per_second=0.0001)
    limiter._known["seen"] = (9.0, limiter._clock())  # Redis last said: 9 tokens left
    admitted = [(await limiter.decide("seen", rule)).allowed for _ in range(10)]
    assert sum(admitted) == 4  # this replica's half of 9, never a fresh bucket of 10
    fresh = [(await limiter.decide("never-seen", rule)).allowed for _ in range(5)]
    assert not any(fresh)
    await limiter.aclose()


def test_a_confirmation_survives_re_verification(auth: AuthSettings) -> None:
    """Re-verifying an entry past max_age keeps when Redis last confirmed the token."""
    import time

    keyset = KeySet.from_settings(auth, Path("."))
    clock = Clock()
    cache = VerifiedTokens(keyset, auth, max_entries=10, max_age=60, clock=clock)
    token = issue_token(keyset, auth, "long", "viewer", 3600, now=NOW)[0]
    cache.verify(token)
    before = time.monotonic()
    cache.confirmed(token)
    clock.now += 61
    cache.verify(token)
    assert cache.confirmed_since(token, before)
