"""The audit trail of privileged actions run by a local operator (the CLI, or a Python caller
of the domain functions; the API records its own with `store.actions.audited`).

The actor is the local operator (the OS user name) with role `operator-cli`. A store that
cannot record is found out before the action: `ensure_recordable` pings it and checks its schema
(the embedded SQLite file is migrated on first use; PostgreSQL needs `sphinxctl db migrate`), so
an action is never performed unrecorded when recording is asked for.

    ensure_recordable(store, "no token was issued")
    issued = issue(...)
    record_token_issued(store, issued.claims)   # raises -> the token is never handed out
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import StoreError

if TYPE_CHECKING:
    from sphinxctl.auth.revocation import Revocation
    from sphinxctl.auth.tokens import Claims
    from sphinxctl.store import AuditEvent, Store

OPERATOR_ROLE = "operator-cli"


def local_operator() -> str:
    """The OS user running sphinxctl (the audit actor of CLI actions)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        return f"uid-{os.getuid()}"


def refused(exc: StoreError, refusing: str) -> StoreError:
    """`exc` with what was not done in front of its message (same type, hint and reference)."""
    error = type(exc)(
        f"{refusing}: the audit trail cannot be written: {exc.message}",
        hint=exc.hint,
        reference=exc.reference,
        details=exc.details,
    )
    error.__cause__ = exc.__cause__
    return error


def ensure_recordable(store: Store, refusing: str) -> None:
    """Raise (StoreUnavailable, or StoreError `store-not-migrated`) unless `store` can append
    audit events now. The SQLite default is migrated here; PostgreSQL must be migrated first."""
    try:
        store.ping()
        ready = store.readiness()
        if ready.ok:
            return
        if not ready.reachable:
            from sphinxctl.errors import StoreUnavailable

            raise StoreUnavailable(ready.detail or f"database unavailable ({store.location})")
        if store.backend == "sqlite":
            store.migrate()
            return
        raise StoreError(
            f"database not migrated ({store.location}): {ready.detail}",
            hint="run `sphinxctl db migrate` for this environment (with the same DATABASE_URL), "
            "then retry",
            reference="store-not-migrated",
        )
    except StoreError as exc:
        raise refused(exc, refusing) from exc.__cause__


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def record_token_issued(store: Store, claims: Claims) -> AuditEvent:
    """`auth.token`: who the token is for, its role, jti, audience and expiry (never the token)."""
    params: dict[str, Any] = {
        "sub": claims.sub,
        "role": claims.role.value,
        "jti": claims.jti,
        "audience": list(claims.aud),
        "issuer": claims.iss,
        "kid": claims.kid,
        "issued_at": _iso(claims.iat),
        "expires_at": _iso(claims.exp),
    }
    try:
        return store.append_audit(
            local_operator(), OPERATOR_ROLE, "auth.token", f"jti:{claims.jti}", params, "ok"
        )
    except StoreError as exc:
        raise refused(exc, "no token was issued") from exc.__cause__


def revoke_target(jti_or_token: str) -> tuple[str, dict[str, Any]]:
    """Audit target and params of a revocation request. For a whole token, only its (unverified)
    jti is taken for the label; the token itself is never recorded."""
    value = jti_or_token.strip()
    if value.count(".") != 2:
        return f"jti:{value}"[:300], {"jti": value, "by": "jti"}
    import jwt

    try:
        jti = str(jwt.decode(value, options={"verify_signature": False}).get("jti") or "")
    except jwt.PyJWTError:
        jti = ""
    return (f"jti:{jti}"[:300] if jti else "jti:unknown"), {"jti": jti or None, "by": "token"}


def record_revocation(outcome_params: dict[str, Any], revocation: Revocation) -> None:
    """What the `ok` event of `auth.revoke` carries."""
    outcome_params.update(
        jti=revocation.jti,
        ttl_seconds=revocation.ttl_seconds,
        entry_expires_at=_iso(revocation.expires_at),
    )
