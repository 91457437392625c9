"""Token revocation by jti: Redis (sync and async) or in-memory stores.

An entry lives exactly as long as the token could still be accepted: its remaining lifetime
plus the verification leeway. Revoking a bare jti (the token itself unknown) keeps the entry
for the longest lifetime any accepted token can have (auth.max_token_ttl_seconds + leeway).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from sphinxctl.errors import AuthError

if TYPE_CHECKING:
    from sphinxctl.settings.sections import AuthSettings, RedisSettings

KEY_PREFIX = "sphinx:revoked:"
MAX_JTI_CHARS = 128


class RevocationStore(Protocol):
    def revoke(self, jti: str, ttl_seconds: int) -> None: ...
    def is_revoked(self, jti: str) -> bool: ...


class AsyncRevocationStore(Protocol):
    async def revoke(self, jti: str, ttl_seconds: int) -> None: ...
    async def is_revoked(self, jti: str) -> bool: ...


class Revocation(BaseModel):
    """A revocation written to the store."""

    jti: str
    ttl_seconds: int
    expires_at: int


def revocation_ttl(
    auth: AuthSettings, exp: float | None = None, *, now: float | None = None
) -> int:
    """Seconds a revocation entry must live: until the token can no longer be accepted."""
    now = time.time() if now is None else now
    if exp is None:
        return auth.max_token_ttl_seconds + auth.leeway_seconds
    return max(0, math.ceil(exp + auth.leeway_seconds - now))


def check_jti(jti: str) -> str:
    if not jti or len(jti) > MAX_JTI_CHARS or not jti.isprintable() or " " in jti:
        raise AuthError(f"invalid jti {jti!r}: 1-{MAX_JTI_CHARS} printable characters, no spaces")
    return jti


def revoke(
    store: RevocationStore,
    auth: AuthSettings,
    jti: str,
    exp: float | None = None,
    *,
    now: float | None = None,
) -> Revocation:
    """Revoke `jti` (expiring at `exp` when known). AuthError when the store is unreachable."""
    now = time.time() if now is None else now
    ttl = revocation_ttl(auth, exp, now=now)
    check_jti(jti)
    if ttl > 0:
        try:
            store.revoke(jti, ttl)
        except AuthError:
            raise
        except Exception as exc:  # noqa: BLE001 — any backend failure becomes one AuthError
            raise AuthError(
                f"cannot write the revocation: {type(exc).__name__}: {exc}",
                reference="revocation-store-unavailable",
                hint="check redis.url and that Redis is running",
            ) from None
    return Revocation(jti=jti, ttl_seconds=ttl, expires_at=int(now) + ttl)


class MemoryRevocations:
    """In-process store (tests, single-process tools). Entries expire on their own."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def revoke(self, jti: str, ttl_seconds: int) -> None:
        self._until[jti] = self._clock() + ttl_seconds
        if len(self._until) > 10_000:
            now = self._clock()
            self._until = {j: t for j, t in self._until.items() if t > now}

    def is_revoked(self, jti: str) -> bool:
        until = self._until.get(jti)
        return until is not None and until > self._clock()


class AsyncMemoryRevocations:
    """MemoryRevocations behind the async interface."""

    def __init__(self, store: MemoryRevocations | None = None) -> None:
        self.store = store or MemoryRevocations()

    async def revoke(self, jti: str, ttl_seconds: int) -> None:
        self.store.revoke(jti, ttl_seconds)

    async def is_revoked(self, jti: str) -> bool:
        return self.store.is_revoked(jti)


class RedisRevocations:
    """Revocations in Redis (`SET sphinx:revoked:<jti> 1 EX ttl`), blocking client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, redis: RedisSettings) -> RedisRevocations:
        import redis as redis_lib

        return cls(redis_lib.Redis.from_url(redis.url.get_secret_value(), **_options(redis)))

    def revoke(self, jti: str, ttl_seconds: int) -> None:
        self.client.set(KEY_PREFIX + jti, b"1", ex=ttl_seconds)

    def is_revoked(self, jti: str) -> bool:
        return bool(self.client.exists(KEY_PREFIX + jti))

    def close(self) -> None:
        self.client.close()


class AsyncRedisRevocations:
    """Revocations in Redis through redis.asyncio (for the API server)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, redis: RedisSettings) -> AsyncRedisRevocations:
        """A bounded pool: when all `redis.max_connections` are busy, callers queue (up to
        the timeout) instead of failing with MaxConnectionsError."""
        import redis.asyncio as redis_lib

        options = _options(redis, asyncio=True)
        retry = options.pop("retry")
        pool = redis_lib.BlockingConnectionPool.from_url(
            redis.url.get_secret_value(),
            max_connections=redis.max_connections,
            timeout=max(1.0, redis.timeout_seconds * 4),
            **options,
        )
        return cls(redis_lib.Redis(connection_pool=pool, retry=retry))

    async def revoke(self, jti: str, ttl_seconds: int) -> None:
        await self.client.set(KEY_PREFIX + jti, b"1", ex=ttl_seconds)

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self.client.exists(KEY_PREFIX + jti))

    async def aclose(self) -> None:
        await self.client.aclose(close_connection_pool=True)  # Redis() leaves a given pool open


def _options(redis: RedisSettings, *, asyncio: bool = False) -> dict[str, Any]:
    """Fail fast: one attempt within the configured timeout, no client-side retries."""
    from redis.backoff import NoBackoff

    if asyncio:
        from redis.asyncio.retry import Retry as AsyncRetry

        retry: Any = AsyncRetry(NoBackoff(), 0)
    else:
        from redis.retry import Retry

        retry = Retry(NoBackoff(), 0)
    return {
        "socket_timeout": redis.timeout_seconds,
        "socket_connect_timeout": redis.timeout_seconds,
        "retry": retry,
    }
