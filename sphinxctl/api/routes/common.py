"""Pieces the route modules share: the guarded route class, path parameters, and OpenAPI
metadata of protected routes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, cast, get_type_hints

from fastapi import APIRouter, Path, Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor

from sphinxctl.api.dependencies import (
    PERMISSION_KEY,
    admit,
    rate_limit_raw_headers,
    reject_unknown_query,
)
from sphinxctl.api.errors import NOT_FOUND, PROTECTED, UNAVAILABLE
from sphinxctl.api.middleware import CONVERTOR
from sphinxctl.auth import Permission

API_PREFIX = "/api/v1"
UINT256_MAX_DIGITS = 78  # len(str(2**256 - 1))


class Uint256Convertor(Convertor[int]):
    """`{name:uint256}`: 1-78 decimal digits. Longer paths do not match the route (404), so
    no request ever reaches int() with thousands of digits; values above 2**256-1 are 422s."""

    regex = f"[0-9]{{1,{UINT256_MAX_DIGITS}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("uint256", Uint256Convertor())


class GuardedRoute(APIRoute):
    """A route that authenticates, rate-limits and authorizes (dependencies.admit), then
    refuses undocumented query parameters, before FastAPI reads its body or validates its
    parameters; adds the RateLimit-* headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = _direct_handler(self) or super().get_route_handler()
        required = (self.openapi_extra or {}).get(PERMISSION_KEY)
        permission = Permission(required) if required is not None else None
        template = CONVERTOR.sub(r"{\1}", self.path)
        limit_keys = {method: f"{method} {template}" for method in self.methods or ()}

        async def guarded(request: Request) -> Response:
            method = request.scope["method"]
            decision = await admit(request, permission, limit_keys.get(method))
            await reject_unknown_query(request)
            response = await handler(request)
            response.raw_headers.extend(rate_limit_raw_headers(decision))
            return response

        return guarded


def _direct_handler(route: APIRoute) -> Callable[[Request], Awaitable[Response]] | None:
    """The endpoint itself when it takes only the request and returns a Response: FastAPI
    would have nothing to resolve, validate or serialize for it, so it is called directly
    (its documented response model stays in the OpenAPI schema)."""
    dependant = route.dependant
    if (
        dependant.request_param_name is None
        or dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.dependencies
        or dependant.background_tasks_param_name
        or dependant.response_param_name
        or not inspect.iscoroutinefunction(route.endpoint)
        or len(inspect.signature(route.endpoint).parameters) != 1
    ):
        return None
    returns = get_type_hints(route.endpoint).get("return")
    if not (isinstance(returns, type) and issubclass(returns, Response)):
        return None
    endpoint = cast(Callable[[Request], Awaitable[Response]], route.endpoint)
    return endpoint


def api_router(prefix: str, tag: str) -> APIRouter:
    """A router under /api/v1 whose routes are guarded and take documented queries only.

    The full prefix is part of each route's own path (not added by include_router), so the
    matched route's template, which labels metrics, is the whole URL template.
    """
    return APIRouter(
        prefix=API_PREFIX + prefix,
        tags=[tag],
        route_class=GuardedRoute,
    )


ChainName = Annotated[
    str,
    Path(
        description="Chain name from the environment's configuration (ethereum, polygon, ...)",
        pattern=r"^[a-z][a-z0-9_-]{0,31}$",
    ),
]
TokenIdPath = Annotated[
    int, Path(ge=0, le=2**256 - 1, description="Token id (ids start at 1)", examples=[1])
]


def protected(permission: Permission, *extra: dict[int | str, Any]) -> dict[str, Any]:
    """Decorator kwargs of a protected route: documented errors and its permission."""
    responses: dict[int | str, Any] = {**PROTECTED, **NOT_FOUND, **UNAVAILABLE}
    for more in extra:
        responses.update(more)
    return {"responses": responses, "openapi_extra": {PERMISSION_KEY: permission.value}}
