"""Issue and verify access tokens (JWT, RFC 8725 / RFC 9068 profile).

Verification is strict and ordered so that unauthenticated input does as little as possible:
size -> structure -> header (alg from the configured list, `typ` = at+jwt, no `crit`, a
well-formed `kid` found in the local key set whose algorithm equals the header's) -> signature
(pyjwt's algorithm implementations) -> claims (exp, iat, iss, aud, sub, jti, role required;
exact iss and aud match; time checks with the configured leeway) -> revocation. Header
parameters that point at keys (jku, x5u, jwk, x5c) are ignored: keys come from configuration.

Every rejection raises `TokenRejected` with a stable `reason` (see REASONS) and is counted in
`sphinxos_auth_failures_total{reason}` here, so callers must not count it again. The compact
JWS itself (size, segments, base64url, JSON, header, signature) is checked in `auth/jws.py`.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from sphinxctl.auth.jws import TOKEN_TYPE, verified_payload
from sphinxctl.auth.keys import KeySet, SigningKey
from sphinxctl.auth.revocation import AsyncRevocationStore, RevocationStore
from sphinxctl.auth.roles import Role, permissions_of
from sphinxctl.errors import AuthError, TokenRejected
from sphinxctl.settings.sections import AuthSettings

__all__ = [
    "REASONS",
    "TOKEN_TYPE",
    "Claims",
    "issue_token",
    "parse_duration",
    "verify_token",
    "verify_token_async",
]

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "role")
MAX_SUBJECT_CHARS = 256
MAX_JTI_CHARS = 128

# Every reason verify_token can give (metric label values; API error bodies).
REASONS = (
    "too-large",
    "malformed-segments",
    "malformed-base64",
    "malformed-json",
    "alg-not-allowed",
    "alg-key-mismatch",
    "bad-typ",
    "crit-unsupported",
    "bad-header",
    "bad-kid",
    "unknown-kid",
    "bad-signature",
    "missing-claim",
    "invalid-claim",
    "bad-issuer",
    "bad-audience",
    "expired",
    "not-yet-valid",
    "iat-in-future",
    "lifetime-too-long",
    "bad-role",
    "revoked",
    "revocation-unavailable",
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Claims(BaseModel):
    """The verified claims of an access token (plus the header's kid and alg)."""

    model_config = ConfigDict(frozen=True)

    sub: str
    role: Role
    iss: str
    aud: list[str]
    jti: str
    iat: int
    exp: int
    nbf: int | None = None
    kid: str
    alg: str

    @property
    def permissions(self) -> list[str]:
        return permissions_of(self.role)

    def remaining_seconds(self, now: float | None = None) -> float:
        """Seconds until `exp` (negative once expired)."""
        return self.exp - (time.time() if now is None else now)


def issue_token(
    keyset: KeySet,
    auth: AuthSettings,
    sub: str,
    role: Role | str,
    ttl: int | timedelta | None = None,
    audience: str | None = None,
    *,
    now: float | None = None,
) -> tuple[str, Claims]:
    """Sign a new access token with the active key; returns the compact JWT and its claims."""
    import jwt

    seconds = auth.token_ttl_seconds if ttl is None else _seconds(ttl)
    if not 0 < seconds <= auth.max_token_ttl_seconds:
        raise AuthError(
            f"token lifetime {seconds}s is outside 1..{auth.max_token_ttl_seconds}s",
            reference="auth-bad-ttl",
            hint="choose a shorter --ttl, or raise auth.max_token_ttl_seconds",
        )
    if not sub or len(sub) > MAX_SUBJECT_CHARS or _CONTROL.search(sub):
        raise AuthError(f"subject must be 1-{MAX_SUBJECT_CHARS} printable characters")
    try:
        role = Role(role)
    except ValueError:
        raise AuthError(
            f"unknown role {role!r}", hint=f"roles: {', '.join(r.value for r in Role)}"
        ) from None
    key = keyset.active
    iat = int(time.time() if now is None else now)
    claims = Claims(
        sub=sub,
        role=role,
        iss=auth.issuer,
        aud=[audience or auth.audience],
        jti=secrets.token_hex(16),  # hex: safe as a command-line argument (never starts with "-")
        iat=iat,
        exp=iat + seconds,
        nbf=iat,
        kid=key.kid,
        alg=key.algorithm,
    )
    payload = {
        "iss": claims.iss,
        "sub": claims.sub,
        "aud": claims.aud[0],
        "iat": claims.iat,
        "nbf": claims.nbf,
        "exp": claims.exp,
        "jti": claims.jti,
        "role": claims.role.value,
    }
    token = jwt.encode(
        payload, key.sign_key, algorithm=key.algorithm, headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )
    return token, claims


def verify_token(
    keyset: KeySet,
    auth: AuthSettings,
    token: str,
    revocations: RevocationStore | None = None,
    *,
    audience: str | None = None,
    now: float | None = None,
) -> Claims:
    """Verify `token` and return its claims; raise TokenRejected with the reason otherwise."""
    claims = _count(lambda: _verify(keyset, auth, token, audience, now))
    if revocations is not None:
        try:
            revoked = revocations.is_revoked(claims.jti)
        except Exception as exc:  # noqa: BLE001 — any backend failure fails closed
            raise _count_error(_unavailable(exc)) from None
        if revoked:
            raise _count_error(_revoked(claims))
    return claims


async def verify_token_async(
    keyset: KeySet,
    auth: AuthSettings,
    token: str,
    revocations: AsyncRevocationStore | None = None,
    *,
    audience: str | None = None,
    now: float | None = None,
) -> Claims:
    """verify_token for async callers (the API): the revocation lookup is awaited."""
    claims = _count(lambda: _verify(keyset, auth, token, audience, now))
    if revocations is not None:
        try:
            revoked = await revocations.is_revoked(claims.jti)
        except Exception as exc:  # noqa: BLE001 — any backend failure fails closed
            raise _count_error(_unavailable(exc)) from None
        if revoked:
            raise _count_error(_revoked(claims))
    return claims


def _revoked(claims: Claims) -> TokenRejected:
    return TokenRejected("revoked", f"token {claims.jti} has been revoked")


def _unavailable(exc: Exception) -> TokenRejected:
    return TokenRejected(
        "revocation-unavailable",
        f"cannot check revocation: {type(exc).__name__}",
        hint="the revocation store (Redis) is unreachable; tokens are refused until it is back",
    )


def _count(verify: Any) -> Claims:
    try:
        result: Claims = verify()
    except TokenRejected as exc:
        raise _count_error(exc) from None
    return result


def _count_error(exc: TokenRejected) -> TokenRejected:
    from sphinxctl.metrics import AUTH_FAILURES

    AUTH_FAILURES.labels(exc.reason).inc()
    return exc


def _verify(
    keyset: KeySet, auth: AuthSettings, token: str, audience: str | None, now: float | None
) -> Claims:
    payload, key = verified_payload(keyset, token)
    return _check_claims(auth, payload, key, audience, time.time() if now is None else now)


def _check_claims(
    auth: AuthSettings,
    payload: dict[str, Any],
    key: SigningKey,
    audience: str | None,
    now: float,
) -> Claims:
    for name in REQUIRED_CLAIMS:
        if name not in payload:
            raise TokenRejected(
                "missing-claim", f"required claim {name!r} is missing", details={"claim": name}
            )
    exp = _numeric_date(payload, "exp")
    iat = _numeric_date(payload, "iat")
    nbf = _numeric_date(payload, "nbf") if "nbf" in payload else None
    iss = _string(payload, "iss", 1024)
    sub = _string(payload, "sub", MAX_SUBJECT_CHARS)
    jti = _string(payload, "jti", MAX_JTI_CHARS)
    role = _string(payload, "role", 32)
    aud_value = payload["aud"]
    aud = [aud_value] if isinstance(aud_value, str) else aud_value
    if not isinstance(aud, list) or not aud or not all(isinstance(a, str) for a in aud):
        raise _invalid("aud", "must be a string or a non-empty list of strings")

    if iss != auth.issuer:
        raise TokenRejected("bad-issuer", f"issuer {iss!r} is not {auth.issuer!r}")
    expected = audience or auth.audience
    if expected not in aud:
        raise TokenRejected("bad-audience", f"audience {aud!r} does not include {expected!r}")
    leeway = auth.leeway_seconds
    if now >= exp + leeway:
        raise TokenRejected("expired", f"token expired {int(now - exp)}s ago")
    if nbf is not None and nbf > now + leeway:
        raise TokenRejected("not-yet-valid", f"token is not valid for another {int(nbf - now)}s")
    if iat > now + leeway:
        raise TokenRejected("iat-in-future", f"token claims to be issued {int(iat - now)}s ahead")
    if exp - iat > auth.max_token_ttl_seconds:
        raise TokenRejected(
            "lifetime-too-long",
            f"token lifetime {int(exp - iat)}s exceeds {auth.max_token_ttl_seconds}s",
        )
    try:
        parsed_role = Role(role)
    except ValueError:
        raise TokenRejected("bad-role", f"unknown role {role!r}") from None
    return Claims(
        sub=sub,
        role=parsed_role,
        iss=iss,
        aud=aud,
        jti=jti,
        iat=math.floor(iat),
        exp=math.floor(exp),
        nbf=None if nbf is None else math.floor(nbf),
        kid=key.kid,
        alg=key.algorithm,
    )


def _invalid(name: str, why: str) -> TokenRejected:
    return TokenRejected("invalid-claim", f"claim {name!r} {why}", details={"claim": name})


def _numeric_date(payload: dict[str, Any], name: str) -> float:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(name, "must be a number (seconds since the epoch)")
    if not math.isfinite(value) or not 0 <= value < 2**53:
        raise _invalid(name, "is out of range")
    return float(value)


def _string(payload: dict[str, Any], name: str, max_chars: int) -> str:
    value = payload[name]
    if not isinstance(value, str) or not value or len(value) > max_chars:
        raise _invalid(name, f"must be a string of 1-{max_chars} characters")
    return value


def _seconds(ttl: int | timedelta) -> int:
    return int(ttl.total_seconds()) if isinstance(ttl, timedelta) else int(ttl)


def parse_duration(text: str) -> int:
    """Whole seconds of a token lifetime in the one duration grammar (`sphinxctl.durations`):
    '90', '15m', '1h', '7d', '2w' (ValueError otherwise)."""
    from sphinxctl.durations import parse_whole_seconds

    return parse_whole_seconds(text)
