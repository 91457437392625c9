"""GET /api/v1/auth/whoami: who the bearer token says the caller is."""

from __future__ import annotations

from fastapi import Depends

from sphinxctl.api.dependencies import require
from sphinxctl.api.routes.common import api_router, protected
from sphinxctl.api.schemas import WhoAmI
from sphinxctl.auth import Claims, Permission

router = api_router("/auth", "auth")


@router.get(
    "/whoami", response_model=WhoAmI, summary="Who am I", **protected(Permission.auth_whoami)
)
async def whoami(claims: Claims = Depends(require(Permission.auth_whoami))) -> WhoAmI:
    """Subject, role and permissions of the presented token (no I/O beyond verification)."""
    return WhoAmI(
        subject=claims.sub,
        role=claims.role.value,
        permissions=claims.permissions,
        token_id=claims.jti,
        expires_at=claims.exp,
    )
