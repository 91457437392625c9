"""JWT access tokens (RFC 8725), key sets with rotation, revocation, roles and permissions.

For the API server::

    from sphinxctl.auth import (
        KeySet, issue_token, verify_token_async, AsyncRedisRevocations, Permission, has_permission,
    )

    keyset = KeySet.from_settings(settings.auth, project_root)    # AuthError on weak/bad keys
    revocations = AsyncRedisRevocations.from_settings(settings.redis)
    claims = await verify_token_async(keyset, settings.auth, bearer, revocations)
    if not has_permission(claims.role, Permission.nfts_mint): ...  # 403

- `issue_token(keyset, auth, sub, role, ttl=None, audience=None) -> (token, Claims)`
- `verify_token(keyset, auth, token, revocations=None, *, audience=None, now=None) -> Claims`
  (sync; `verify_token_async` awaits an async revocation store). Rejections raise
  `sphinxctl.errors.TokenRejected` (an AuthError) with `.reason` from `REASONS`, e.g.
  'expired', 'bad-signature', 'alg-not-allowed', 'revoked'; 'revocation-unavailable' means the
  store could not be asked (fail closed; an API may answer 503). Each rejection is counted in
  `sphinxos_auth_failures_total{reason}` by the verifier itself.
- Revocation stores: `RedisRevocations` / `AsyncRedisRevocations` (`.from_settings(redis)`),
  `MemoryRevocations` / `AsyncMemoryRevocations`; `revoke(store, auth, jti, exp=None)`.
- `Role`, `Permission`, `ROLE_PERMISSIONS` (the one table), `has_permission(role, perm)`.
- `generate_key(alg, kid, out_dir)` writes new key material with mode 0600.
"""

from __future__ import annotations

from sphinxctl.auth.keygen import GeneratedKey, generate_key, new_kid
from sphinxctl.auth.keys import MIN_HMAC_SECRET_BYTES, KeySet, SigningKey
from sphinxctl.auth.revocation import (
    AsyncMemoryRevocations,
    AsyncRedisRevocations,
    AsyncRevocationStore,
    MemoryRevocations,
    RedisRevocations,
    Revocation,
    RevocationStore,
    revocation_ttl,
    revoke,
)
from sphinxctl.auth.roles import ROLE_PERMISSIONS, Permission, Role, has_permission, permissions_of
from sphinxctl.auth.tokens import (
    REASONS,
    TOKEN_TYPE,
    Claims,
    issue_token,
    parse_duration,
    verify_token,
    verify_token_async,
)
from sphinxctl.errors import AuthError, TokenRejected

__all__ = [
    "MIN_HMAC_SECRET_BYTES",
    "REASONS",
    "ROLE_PERMISSIONS",
    "TOKEN_TYPE",
    "AsyncMemoryRevocations",
    "AsyncRedisRevocations",
    "AsyncRevocationStore",
    "AuthError",
    "Claims",
    "GeneratedKey",
    "KeySet",
    "MemoryRevocations",
    "Permission",
    "RedisRevocations",
    "Revocation",
    "RevocationStore",
    "Role",
    "SigningKey",
    "TokenRejected",
    "generate_key",
    "has_permission",
    "issue_token",
    "new_kid",
    "parse_duration",
    "permissions_of",
    "revocation_ttl",
    "revoke",
    "verify_token",
    "verify_token_async",
]
