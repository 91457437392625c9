"""Operator-facing auth operations on an environment's settings (what `sphinxctl auth` calls)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from sphinxctl.auth.keys import KeySet
from sphinxctl.auth.revocation import RedisRevocations, Revocation, check_jti, revoke
from sphinxctl.auth.roles import Role
from sphinxctl.auth.tokens import Claims, issue_token, verify_token
from sphinxctl.settings.sections import AuthSettings, RedisSettings


class IssuedToken(BaseModel):
    """A new access token and its claims."""

    token: str
    claims: Claims


class TokenReport(BaseModel):
    """A token that passed verification."""

    valid: bool = True
    claims: Claims
    permissions: list[str]
    expires_in_seconds: int
    revocation_checked: bool


def issue(
    auth: AuthSettings,
    base_dir: Path,
    sub: str,
    role: Role | str,
    ttl_seconds: int | None = None,
    audience: str | None = None,
) -> IssuedToken:
    """Issue a token with the environment's active key."""
    token, claims = issue_token(
        KeySet.from_settings(auth, base_dir), auth, sub, role, ttl_seconds, audience
    )
    return IssuedToken(token=token, claims=claims)


def inspect(
    auth: AuthSettings,
    redis: RedisSettings | None,
    base_dir: Path,
    token: str,
    audience: str | None = None,
) -> TokenReport:
    """Verify a token as the API would (revocation in Redis unless `redis` is None)."""
    keyset = KeySet.from_settings(auth, base_dir)
    store = RedisRevocations.from_settings(redis) if redis is not None else None
    try:
        claims = verify_token(keyset, auth, token.strip(), store, audience=audience)
    finally:
        if store is not None:
            store.close()
    return TokenReport(
        claims=claims,
        permissions=claims.permissions,
        expires_in_seconds=int(claims.remaining_seconds()),
        revocation_checked=store is not None,
    )


def revoke_token(
    auth: AuthSettings, redis: RedisSettings, base_dir: Path, jti_or_token: str
) -> Revocation:
    """Revoke by jti, or by a whole token (then the entry lives only as long as the token)."""
    value = jti_or_token.strip()
    exp: float | None = None
    if value.count(".") == 2:  # a compact JWT: take its jti and exp once it verifies
        claims = verify_token(KeySet.from_settings(auth, base_dir), auth, value)
        value, exp = claims.jti, float(claims.exp)
    check_jti(value)
    store = RedisRevocations.from_settings(redis)
    try:
        return revoke(store, auth, value, exp, now=time.time())
    finally:
        store.close()
