"""Verified-token cache: skip JWT parsing and the signature check for a token seen recently.

Bounded in size (`auth.token_cache_size` entries, least recently stored dropped first) and in
time (`auth.token_cache_seconds`; never past the token's exp + leeway). Only the signature and
claims checks are cached: revocation is looked up on every request (in the rate limiter's
Redis call, or the revocation store), so a revoked token is refused on its next request.
Rejected tokens are not cached (an attacker's garbage must not evict good entries).

The cache also remembers when Redis last confirmed a token not revoked (`confirmed`, on the
monotonic clock). While Redis is unreachable the API accepts a token confirmed at most
`auth.revocation_grace_seconds` before Redis last answered, for at most
`auth.revocation_outage_seconds` of outage: no revocation can reach Redis while it is down, so
only revocations written in the grace seconds before an outage can be missed, and only until
Redis answers again (or the outage limit refuses every token).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sphinxctl.auth.keys import KeySet
from sphinxctl.auth.tokens import Claims, verify_token
from sphinxctl.settings.sections import AuthSettings


class VerifiedTokens:
    """`verify(token) -> Claims` with a bounded cache (see the module docstring)."""

    def __init__(
        self,
        keyset: KeySet,
        auth: AuthSettings,
        *,
        max_entries: int | None = None,
        max_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keyset = keyset
        self.auth = auth
        self.max_entries = auth.token_cache_size if max_entries is None else max_entries
        self.max_age = auth.token_cache_seconds if max_age is None else max_age
        self._clock = clock
        self._entries: dict[str, list[float | Claims]] = {}  # token -> [claims, until, ok_at]

    def verify(self, token: str) -> Claims:
        """The token's claims; TokenRejected as `verify_token` raises it (no revocation)."""
        now = self._clock()
        entry = self._entries.get(token)
        confirmed = float("-inf")
        if entry is not None:
            claims, until = entry[0], entry[1]
            if now < until:  # type: ignore[operator]
                return claims  # type: ignore[return-value]
            del self._entries[token]
            confirmed = entry[2]  # type: ignore[assignment]  # Redis's word still stands
        claims = verify_token(self.keyset, self.auth, token, now=now)
        if self.max_entries > 0 and self.max_age > 0:
            until = min(now + self.max_age, claims.exp + self.auth.leeway_seconds)
            entries = self._entries
            entries[token] = [claims, until, confirmed]
            if len(entries) > self.max_entries:
                del entries[next(iter(entries))]
        return claims

    def confirmed(self, token: str) -> None:
        """Redis has just said this token is not revoked."""
        entry = self._entries.get(token)
        if entry is not None:
            entry[2] = time.monotonic()

    def confirmed_since(self, token: str, since: float) -> bool:
        """Redis said this token is not revoked at or after `since` (time.monotonic())."""
        entry = self._entries.get(token)
        return entry is not None and entry[2] >= since  # type: ignore[operator]

    def __len__(self) -> int:
        return len(self._entries)
