"""GET /api/v1/auth/whoami: who the bearer token says the caller is."""

from __future__ import annotations

import functools

from fastapi import Request, Response

from sphinxctl.api.dependencies import admitted_claims
from sphinxctl.api.routes.common import api_router, protected
from sphinxctl.api.schemas import WhoAmI
from sphinxctl.auth import Claims, Permission, Role, permissions_of

router = api_router("/auth", "auth")


@functools.cache
def _permissions(role: Role) -> list[str]:
    """The role's permissions (a fixed table: worked out once per role)."""
    return permissions_of(role)


@router.get(
    "/whoami", response_model=WhoAmI, summary="Who am I", **protected(Permission.auth_whoami)
)
async def whoami(request: Request) -> Response:
    """Subject, role and permissions of the presented token (no I/O beyond verification)."""
    claims: Claims = admitted_claims(request)  # the guarded route checked auth:whoami
    body = WhoAmI(
        subject=claims.sub,
        role=claims.role.value,
        permissions=_permissions(claims.role),
        token_id=claims.jti,
        expires_at=claims.exp,
    )
    # Built and validated here: FastAPI would validate the model again to serialize it.
    return Response(body.model_dump_json(), media_type="application/json")
