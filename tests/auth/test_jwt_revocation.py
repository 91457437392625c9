"""Revocation by jti: entries live as long as the token could be accepted (real Redis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sphinxctl.auth import (
    AsyncMemoryRevocations,
    AsyncRedisRevocations,
    AuthError,
    KeySet,
    MemoryRevocations,
    RedisRevocations,
    TokenRejected,
    issue_token,
    revocation_ttl,
    revoke,
    verify_token,
    verify_token_async,
)
from sphinxctl.settings.sections import AuthKey, AuthSettings, RedisSettings
from tests.support.redis_server import RedisServer

NOW = 1_800_000_000


@pytest.fixture
def auth() -> AuthSettings:
    return AuthSettings(
        issuer="https://auth.sphinx.local",
        audience="sphinx-api",
        algorithms=["HS256"],
        active_kid="k1",
        keys=[AuthKey(kid="k1", algorithm="HS256", secret=SecretStr("r" * 40))],
        leeway_seconds=10,
        max_token_ttl_seconds=7200,
    )


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings(url=SecretStr(url), timeout_seconds=0.5)


def test_ttl_is_the_remaining_lifetime_plus_leeway(auth: AuthSettings) -> None:
    assert revocation_ttl(auth, NOW + 600, now=NOW) == 610
    assert revocation_ttl(auth, NOW + 0.2, now=NOW) == 11  # rounded up, never short
    assert revocation_ttl(auth, NOW - 60, now=NOW) == 0  # already unacceptable
    assert revocation_ttl(auth, None, now=NOW) == 7210  # bare jti: the longest lifetime


def test_memory_revocation_expires(auth: AuthSettings) -> None:
    clock = [100.0]
    store = MemoryRevocations(clock=lambda: clock[0])
    record = revoke(store, auth, "j1", NOW + 50, now=NOW)
    assert (record.ttl_seconds, record.expires_at) == (60, NOW + 60)
    assert store.is_revoked("j1") and not store.is_revoked("j2")
    clock[0] += 60
    assert not store.is_revoked("j1")


def test_revoking_an_expired_token_writes_nothing(auth: AuthSettings) -> None:
    store = MemoryRevocations()
    assert revoke(store, auth, "old", NOW - 100, now=NOW).ttl_seconds == 0
    assert not store.is_revoked("old")


@pytest.mark.parametrize("jti", ["", "a b", "x" * 129, "tab\there"])
def test_invalid_jti_is_refused(auth: AuthSettings, jti: str) -> None:
    with pytest.raises(AuthError, match="invalid jti"):
        revoke(MemoryRevocations(), auth, jti, now=NOW)


@pytest.mark.integration
def test_redis_revocation_sets_ttl_to_remaining_lifetime(
    auth: AuthSettings, redis: RedisServer
) -> None:
    keyset = KeySet.from_settings(auth, Path("."))
    token, claims = issue_token(keyset, auth, "henry", "admin", 900)
    store = RedisRevocations.from_settings(redis_settings(redis.url))
    try:
        assert verify_token(keyset, auth, token, store).jti == claims.jti
        record = revoke(store, auth, claims.jti, claims.exp)
        ttl = redis.command("TTL", f"sphinx:revoked:{claims.jti}")
        assert isinstance(ttl, int) and record.ttl_seconds - 2 <= ttl <= record.ttl_seconds
        assert 900 <= record.ttl_seconds <= 911
        with pytest.raises(TokenRejected) as info:
            verify_token(keyset, auth, token, store)
        assert info.value.reason == "revoked"
    finally:
        store.close()


@pytest.mark.integration
async def test_async_redis_revocation(auth: AuthSettings, redis: RedisServer) -> None:
    keyset = KeySet.from_settings(auth, Path("."))
    token, claims = issue_token(keyset, auth, "iris", "viewer", 60)
    store = AsyncRedisRevocations.from_settings(redis_settings(redis.url))
    try:
        assert (await verify_token_async(keyset, auth, token, store)).sub == "iris"
        await store.revoke(claims.jti, 70)
        with pytest.raises(TokenRejected) as info:
            await verify_token_async(keyset, auth, token, store)
        assert info.value.reason == "revoked"
    finally:
        await store.aclose()


@pytest.mark.integration
async def test_unreachable_store_fails_closed(auth: AuthSettings) -> None:
    keyset = KeySet.from_settings(auth, Path("."))
    token, _ = issue_token(keyset, auth, "jack", "viewer", 60)
    with RedisServer() as server:
        url = server.url
    # the server is gone: nobody listens on its port any more
    store = AsyncRedisRevocations.from_settings(redis_settings(url))
    try:
        with pytest.raises(TokenRejected) as info:
            await verify_token_async(keyset, auth, token, store)
        assert info.value.reason == "revocation-unavailable"
    finally:
        await store.aclose()
    sync_store = RedisRevocations.from_settings(redis_settings(url))
    with pytest.raises(AuthError, match="cannot write the revocation"):
        revoke(sync_store, auth, "some-jti")
    # the memory store answers through the same async interface
    memory = AsyncMemoryRevocations()
    await memory.revoke("x", 5)
    assert await memory.is_revoked("x")
