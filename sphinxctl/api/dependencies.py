"""FastAPI dependencies: the app's services, bearer authentication, permissions, rate limits.

Every /api/v1 route runs `rate_limit` (router level) and then its `require(permission)`:
an unauthenticated request is limited by client address before it is refused with 401, an
authenticated one by its subject (and its role's or route's rule). The token is verified once
per request and kept on `request.state`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sphinxctl import metrics
from sphinxctl.api.errors import ApiProblem
from sphinxctl.api.middleware import route_template
from sphinxctl.auth import Claims, Permission, TokenRejected, has_permission

if TYPE_CHECKING:
    from sphinxctl.api.services import ApiServices

_UNSET = object()
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="Access token (typ at+jwt) issued by `sphinxctl auth issue`.",
)


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


async def authenticate(request: Request) -> Claims | None:
    """The verified claims of the request's bearer token, None when there is none or it is bad.

    A rejection is remembered on request.state (for the 401 body); verification runs once.
    """
    state = request.state
    cached = getattr(state, "claims", _UNSET)
    if cached is not _UNSET:
        return cached if isinstance(cached, Claims) else None
    claims: Claims | None = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            state.auth_error = TokenRejected(
                "malformed-header", "the Authorization header must be `Bearer <token>`"
            )
            metrics.AUTH_FAILURES.labels("malformed-header").inc()
        else:
            from sphinxctl.auth import verify_token_async

            services = get_services(request)
            try:
                claims = await verify_token_async(
                    services.keyset, services.settings.auth, token.strip(), services.revocations
                )
            except TokenRejected as exc:
                state.auth_error = exc
    state.claims = claims
    if claims is not None:
        state.principal = claims
        get_services(request).activity.seen(claims.sub)
    return claims


def require(permission: Permission) -> Callable[..., Awaitable[Claims]]:
    """A dependency admitting tokens whose role grants `permission` (401 / 403 otherwise)."""

    async def dependency(
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    ) -> Claims:
        claims = await authenticate(request)
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


async def rate_limit(request: Request, response: Response) -> None:
    """Token bucket per subject (or client address) and rule; 429 with Retry-After."""
    from sphinxctl.ratelimit import client_key

    services = get_services(request)
    claims = await authenticate(request)
    route = f"{request.method} {route_template(request.scope)}"
    api = services.settings.api
    client = request.client
    key = client_key(
        claims.sub if claims else None,
        client.host if client else None,
        request.headers.getlist("x-forwarded-for"),
        api.trusted_proxies,
    )
    role = claims.role.value if claims else None
    decision = await services.limiter.decide_request(route, role, key)
    response.headers["RateLimit-Limit"] = str(decision.limit)
    response.headers["RateLimit-Remaining"] = str(max(0, math.floor(decision.remaining)))
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


async def reject_unknown_query(request: Request) -> None:
    """Allow-list query parameters: any the operation does not document is a 422."""
    if not request.query_params:
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
