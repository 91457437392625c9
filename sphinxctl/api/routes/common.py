"""Pieces the route modules share: path parameters and OpenAPI metadata of protected routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from sphinxctl.api.dependencies import rate_limit, reject_unknown_query
from sphinxctl.api.errors import NOT_FOUND, PROTECTED, UNAVAILABLE
from sphinxctl.auth import Permission

PERMISSION_KEY = "x-required-permission"
API_PREFIX = "/api/v1"


def api_router(prefix: str, tag: str) -> APIRouter:
    """A router under /api/v1 whose routes are rate-limited and take documented queries only.

    The full prefix is part of each route's own path (not added by include_router), so the
    matched route's template, which labels metrics, is the whole URL template.
    """
    return APIRouter(
        prefix=API_PREFIX + prefix,
        tags=[tag],
        dependencies=[Depends(rate_limit), Depends(reject_unknown_query)],
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
