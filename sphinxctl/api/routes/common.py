"""Pieces the route modules share: the guarded route class, path parameters, and OpenAPI
metadata of protected routes."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor

from sphinxctl.api.dependencies import admit, rate_limit_headers, reject_unknown_query
from sphinxctl.api.errors import NOT_FOUND, PROTECTED, UNAVAILABLE
from sphinxctl.auth import Permission

PERMISSION_KEY = "x-required-permission"
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
    """A route that authenticates, rate-limits and authorizes (dependencies.admit) before
    FastAPI reads its body or validates its parameters; adds the RateLimit-* headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        required = (self.openapi_extra or {}).get(PERMISSION_KEY)
        permission = Permission(required) if required is not None else None

        async def guarded(request: Request) -> Response:
            decision = await admit(request, permission)
            response = await handler(request)
            response.headers.update(rate_limit_headers(decision))
            return response

        return guarded


def api_router(prefix: str, tag: str) -> APIRouter:
    """A router under /api/v1 whose routes are guarded and take documented queries only.

    The full prefix is part of each route's own path (not added by include_router), so the
    matched route's template, which labels metrics, is the whole URL template.
    """
    return APIRouter(
        prefix=API_PREFIX + prefix,
        tags=[tag],
        route_class=GuardedRoute,
        dependencies=[Depends(reject_unknown_query)],
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
