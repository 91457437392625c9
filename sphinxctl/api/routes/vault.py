"""GET /api/v1/vault/{chain}: the yield aggregator's state read on chain."""

from __future__ import annotations

from fastapi import Depends, Request

from sphinxctl.api.dependencies import get_services, require
from sphinxctl.api.routes.common import ChainName, api_router, protected
from sphinxctl.api.schemas import VaultState
from sphinxctl.auth import Claims, Permission

router = api_router("/vault", "vault")


@router.get(
    "/{chain}",
    response_model=VaultState,
    summary="Vault state",
    **protected(Permission.vault_read),
)
def vault_state(
    request: Request, chain: ChainName, _claims: Claims = Depends(require(Permission.vault_read))
) -> VaultState:
    """Paused, emergency shutdown, active strategies, total value locked, locked profit, unclaimed
    fees and the share price (ERC-4626)."""
    info = get_services(request).gateway.vault(chain)
    return VaultState(
        chain=chain,
        address=info.address,
        paused=info.paused,
        emergency_shutdown=info.emergency_shutdown,
        strategies=info.strategies,
        total_assets_wei=str(info.total_assets_wei),
        total_assets=info.total_assets_wei / 10**info.asset_decimals,
        asset=info.asset,
        locked_profit_wei=str(info.locked_profit_wei),
        profit_unlock_seconds=info.profit_unlock_seconds,
        fees_accrued_wei=str(info.fees_accrued_wei),
        share_price=info.assets_per_share_wei / 10**info.asset_decimals,
    )
