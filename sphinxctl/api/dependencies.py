"""Authentication, rate limits and permissions of the /api/v1 routes.

`admit(request, permission)` runs before FastAPI reads the body or validates parameters (the
routes' GuardedRoute class calls it first), so an unauthenticated caller learns nothing from
422s and pays no body parsing. In order:
  1. the bearer token's signature and claims (cached, see auth/cache.py);
  2. one rate-limit decision for its subject (or the client address without a valid token);
     with Redis the same script says whether the token is revoked: one round trip in all;
  3. 429, then 401 / 503 (token refused, revocation unknown), then 403.
A revoked token counts as no token (its request is limited by client address, then refused).
The verified claims are kept on `request.state`; `require(permission)` returns them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer

from sphinxctl import metrics
from sphinxctl.api.errors import ApiProblem
from sphinxctl.api.middleware import route_template
from sphinxctl.auth import Claims, Permission, TokenRejected, has_permission

if TYPE_CHECKING:
    from sphinxctl.api.services import ApiServices
    from sphinxctl.auth.cache import VerifiedTokens
    from sphinxctl.ratelimit import Decision

_UNSET = object()
AUTHORIZATION = "authorization"  # key in scope["state"]: the header's value (middleware)
PERMISSION_KEY = "x-required-permission"
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="Access token (typ at+jwt) issued by `sphinxctl auth issue`.",
)


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.scope["app"].state.services
    return services


def _verified_tokens(request: Request) -> VerifiedTokens:
    tokens: VerifiedTokens = request.scope["app"].state.verified_tokens
    return tokens


def _bearer(request: Request) -> str | None:
    """The bearer token of the request (None without one); a malformed header is remembered
    as the rejection. The request middleware has found the header already (AUTHORIZATION)."""
    state = request.scope.get("state")
    found = state.get(AUTHORIZATION, _UNSET) if isinstance(state, dict) else _UNSET
    header = request.headers.get("authorization") if found is _UNSET else found
    if not isinstance(header, str) or not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        request.state.auth_error = TokenRejected(
            "malformed-header", "the Authorization header must be `Bearer <token>`"
        )
        metrics.AUTH_FAILURES.labels("malformed-header").inc()
        return None
    return token


def _signed_claims(request: Request, token: str | None) -> Claims | None:
    """Signature and claims only (revocation is the caller's next step)."""
    if token is None:
        return None
    try:
        return _verified_tokens(request).verify(token)
    except TokenRejected as exc:
        request.state.auth_error = exc
        return None


def _accept(request: Request, claims: Claims | None) -> Claims | None:
    state = request.state
    state.claims = claims
    if claims is not None:
        state.principal = claims
        get_services(request).activity.seen(claims.sub)
    return claims


def _refuse(request: Request, error: TokenRejected) -> None:
    metrics.AUTH_FAILURES.labels(error.reason).inc()
    request.state.auth_error = error


def _revoked(claims: Claims) -> TokenRejected:
    return TokenRejected("revoked", f"token {claims.jti} has been revoked")


def _unavailable(exc: BaseException | None) -> TokenRejected:
    cause = type(exc).__name__ if exc is not None else "Redis is unreachable"
    return TokenRejected(
        "revocation-unavailable",
        f"cannot check revocation: {cause}",
        hint="the revocation store (Redis) is unreachable; tokens are refused until it is back",
    )


async def _revocation_store_says(request: Request, claims: Claims, token: str) -> bool | None:
    """Ask the revocation store itself: True revoked, False not, None unknown (refused)."""
    services = get_services(request)
    if services.revocations is None:
        return False
    try:
        revoked = await services.revocations.is_revoked(claims.jti)
    except Exception as exc:  # noqa: BLE001 — any revocation-store failure takes the grace path
        if _within_grace(request, token):
            return False
        _refuse(request, _unavailable(exc))
        return None
    if not revoked:
        _verified_tokens(request).confirmed(token)
    return bool(revoked)


def _within_grace(request: Request, token: str) -> bool:
    """Redis cannot be asked: accept the token when Redis confirmed it unrevoked shortly
    before it last answered, and the outage is not too long (see auth/cache.py)."""
    services = get_services(request)
    auth = services.settings.auth
    last_ok = services.limiter.last_ok
    if auth.revocation_grace_seconds <= 0 or last_ok is None:
        return False
    if time.monotonic() - last_ok > auth.revocation_outage_seconds:
        return False
    since = last_ok - auth.revocation_grace_seconds
    return _verified_tokens(request).confirmed_since(token, since)


async def authenticate(request: Request) -> Claims | None:
    """The verified, unrevoked claims of the request's bearer token (None when there is none
    or it is refused; the reason is kept on request.state.auth_error). Runs once per request."""
    cached = getattr(request.state, "claims", _UNSET)
    if cached is not _UNSET:
        return cached if isinstance(cached, Claims) else None
    token = _bearer(request)
    claims = _signed_claims(request, token)
    if claims is not None and token is not None:
        revoked = await _revocation_store_says(request, claims, token)
        if revoked is not False:
            if revoked:
                _refuse(request, _revoked(claims))
            claims = None
    return _accept(request, claims)


async def admit(
    request: Request, permission: Permission | None, route: str | None = None
) -> Decision:
    """Authenticate, rate-limit and authorize one /api/v1 request (see the module docstring).

    `route` is the rate-limit route key (`GET /api/v1/...` with the path template); the
    guarded route passes it, computed once."""
    services = get_services(request)
    if route is None:
        route = f"{request.method} {route_template(request.scope)}"
    token = _bearer(request)
    claims = _signed_claims(request, token)
    in_limiter = bool(request.scope["app"].state.revocation_in_limiter)
    jti = claims.jti if claims is not None and in_limiter else None
    decision = await _decide(request, services, route, claims, jti)
    if claims is not None and token is not None:
        revoked = decision.revoked
        if revoked is None:
            if in_limiter:  # Redis did not answer: the limiter decided locally
                if _within_grace(request, token):
                    revoked = False
                else:
                    _refuse(request, _unavailable(None))
            else:
                revoked = await _revocation_store_says(request, claims, token)
        elif not revoked:
            _verified_tokens(request).confirmed(token)
        if revoked is not False:
            if revoked:
                _refuse(request, _revoked(claims))
                decision = await _decide(request, services, route, None, None)
            claims = None
    _accept(request, claims)
    _raise_if_limited(request, decision)
    if permission is not None:
        _authorize(request, claims, permission)
    return decision


async def _decide(
    request: Request, services: ApiServices, route: str, claims: Claims | None, jti: str | None
) -> Decision:
    if claims is not None:  # the subject's bucket: no address to work out
        key = f"sub:{claims.sub}"
        return await services.limiter.decide_request(route, claims.role.value, key, jti=jti)
    from sphinxctl.ratelimit import client_key

    api = services.settings.api
    client = request.client
    key = client_key(
        None,
        client.host if client else None,
        request.headers.getlist("x-forwarded-for"),
        api.trusted_proxies,
    )
    return await services.limiter.decide_request(route, None, key, jti=jti)


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(max(0, math.floor(decision.remaining))),
    }


def rate_limit_raw_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    """rate_limit_headers as ASGI header pairs (appended to a response without a lookup)."""
    remaining = max(0, math.floor(decision.remaining))
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(remaining).encode()),
    ]


def _raise_if_limited(request: Request, decision: Decision) -> None:
    if decision.allowed:
        return
    metrics.RATE_LIMIT_EXCEEDED.labels(route=route_template(request.scope)).inc()
    retry = decision.retry_after
    headers: dict[str, Any] = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": "0",
    }
    if retry is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    raise ApiProblem(
        429,
        "rate limit exceeded" if retry is not None else "this request can never fit the limit",
        reference="rate-limited",
        hint=f"retry after {headers['Retry-After']} s" if retry is not None else None,
        headers=headers,
    )


def _authorize(request: Request, claims: Claims | None, permission: Permission) -> Claims:
    if claims is None:
        raise _unauthorized(getattr(request.state, "auth_error", None))
    if not has_permission(claims.role, permission):
        raise ApiProblem(
            403,
            f"role {claims.role.value!r} lacks the permission {permission.value!r}",
            reference="forbidden",
            hint="use a token of a role that has it (see `sphinxctl auth roles`)",
            details={"permission": permission.value, "role": claims.role.value},
        )
    return claims


def admitted_claims(request: Request) -> Claims:
    """The claims `admit` accepted for this request (a guarded route's handler reads them
    without a dependency; `admit` has enforced the route's permission). 401 without."""
    state = request.scope.get("state")
    claims = state.get("claims") if isinstance(state, dict) else None
    if not isinstance(claims, Claims):
        raise _unauthorized(getattr(request.state, "auth_error", None))
    return claims


def require(permission: Permission) -> Callable[..., Awaitable[Claims]]:
    """A dependency admitting tokens whose role grants `permission` (401 / 403 otherwise).

    On /api/v1 routes `admit` has already decided; this returns its claims. It resolves no
    sub-dependency (each costs FastAPI ~10 us a request): the bearer scheme is documented in
    the OpenAPI schema by `document_security`."""

    async def dependency(request: Request) -> Claims:
        state = request.scope.get("state")
        claims = state.get("claims", _UNSET) if isinstance(state, dict) else _UNSET
        if claims is _UNSET:  # not behind a guarded route: authenticate here
            claims = await authenticate(request)
        return _authorize(request, claims if isinstance(claims, Claims) else None, permission)

    dependency.__name__ = f"require_{permission.name}"
    return dependency


def _unauthorized(error: TokenRejected | None) -> ApiProblem:
    if error is None:
        return ApiProblem(
            401,
            "a bearer token is required",
            reference="token-missing",
            hint="send `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": 'Bearer realm="sphinx"'},
        )
    unavailable = error.reason == "revocation-unavailable"
    return ApiProblem(
        503 if unavailable else 401,
        error.message,
        reference=error.reference,
        hint=error.hint,
        details={"reason": error.reason},
        headers={} if unavailable else {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def document_security(schema: dict[str, Any]) -> None:
    """The bearer scheme in the OpenAPI schema, required by every operation that names a
    permission (what `Depends(bearer_scheme)` in `require` would have written)."""
    components = schema.setdefault("components", {})
    scheme = bearer_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    components.setdefault("securitySchemes", {})[bearer_scheme.scheme_name] = scheme
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get(PERMISSION_KEY):
                operation.setdefault("security", [{bearer_scheme.scheme_name: []}])


async def reject_unknown_query(request: Request) -> None:
    """Allow-list query parameters: any the operation does not document is a 422."""
    if not request.scope.get("query_string") or not request.query_params:
        return
    declared = _declared_queries(request.app)
    allowed = declared.get((request.method, route_template(request.scope)), frozenset())
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "input": name,
                }
                for name in unknown[:10]
            ]
        )


def _declared_queries(app: Any) -> dict[tuple[str, str], frozenset[str]]:
    """(METHOD, path template) -> the query parameters its OpenAPI operation declares."""
    cached = getattr(app.state, "declared_queries", None)
    if cached is None:
        cached = {}
        for path, operations in app.openapi().get("paths", {}).items():
            for method, operation in operations.items():
                names = {
                    p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"
                }
                cached[(method.upper(), path)] = frozenset(names)
        app.state.declared_queries = cached
    result: dict[tuple[str, str], frozenset[str]] = cached
    return result
