"""Admin routes: pause and unpause a contract, activate the vault's emergency shutdown.

Each call is audited (store and audit log) before and after its transaction.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Request

from sphinxctl.api.actions import run_audited
from sphinxctl.api.chain import VAULT
from sphinxctl.api.dependencies import get_services, require
from sphinxctl.api.errors import CONFLICT, ApiProblem
from sphinxctl.api.routes.common import ChainName, api_router, protected
from sphinxctl.api.schemas import PauseResponse, ShutdownResponse
from sphinxctl.auth import Claims, Permission

router = api_router("/admin", "admin")

PausableContract = Annotated[
    Literal["SpaceFlightNFT", "SphinxYieldAggregator"],
    Path(description="The contract to pause or unpause"),
]


def _set_paused(
    request: Request, claims: Claims, chain: str, contract: str, paused: bool
) -> PauseResponse:
    services = get_services(request)
    services.gateway.address(chain, contract)
    function = "pause" if paused else "unpause"
    outcome = run_audited(
        services,
        claims,
        action=f"contract.{function}",
        chain=chain,
        target=contract,
        kind=function,
        params={},
        perform=lambda on_sent: services.gateway.transact(
            chain, contract, function, on_sent=on_sent
        ),
    )
    if outcome.status == "failed":
        raise ApiProblem(
            409,
            f"{function} reverted on chain",
            reference="transaction-reverted",
            details={"tx_hash": outcome.tx_hash},
        )
    return PauseResponse(
        chain=chain,
        contract=contract,
        tx_hash=outcome.tx_hash,
        status=outcome.status,  # type: ignore[arg-type]
        block_number=outcome.block_number,
        paused=paused if outcome.status == "confirmed" else not paused,
    )


@router.post(
    "/{chain}/{contract}/pause",
    response_model=PauseResponse,
    summary="Pause a contract",
    **protected(Permission.admin_pause, CONFLICT),
)
def pause(
    request: Request,
    chain: ChainName,
    contract: PausableContract,
    claims: Claims = Depends(require(Permission.admin_pause)),
) -> PauseResponse:
    """Sends `pause()`; mints and transfers (NFT) or deposits (vault) stop."""
    return _set_paused(request, claims, chain, contract, True)


@router.post(
    "/{chain}/{contract}/unpause",
    response_model=PauseResponse,
    summary="Unpause a contract",
    **protected(Permission.admin_pause, CONFLICT),
)
def unpause(
    request: Request,
    chain: ChainName,
    contract: PausableContract,
    claims: Claims = Depends(require(Permission.admin_pause)),
) -> PauseResponse:
    """Sends `unpause()`."""
    return _set_paused(request, claims, chain, contract, False)


@router.post(
    "/{chain}/vault/emergency-shutdown",
    response_model=ShutdownResponse,
    summary="Activate the vault's emergency shutdown",
    **protected(Permission.admin_shutdown, CONFLICT),
)
def emergency_shutdown(
    request: Request,
    chain: ChainName,
    claims: Claims = Depends(require(Permission.admin_shutdown)),
) -> ShutdownResponse:
    """Sends `activateEmergencyShutdown()`: irreversible; funds return from the strategies and
    every depositor can exit."""
    services = get_services(request)
    services.gateway.address(chain, VAULT)
    outcome = run_audited(
        services,
        claims,
        action="vault.emergency_shutdown",
        chain=chain,
        target=VAULT,
        kind="emergency_shutdown",
        params={},
        perform=lambda on_sent: services.gateway.transact(
            chain, VAULT, "activateEmergencyShutdown", on_sent=on_sent
        ),
    )
    if outcome.status == "failed":
        raise ApiProblem(
            409,
            "emergency shutdown reverted on chain",
            reference="transaction-reverted",
            details={"tx_hash": outcome.tx_hash},
        )
    return ShutdownResponse(
        chain=chain,
        tx_hash=outcome.tx_hash,
        status=outcome.status,  # type: ignore[arg-type]
        block_number=outcome.block_number,
        emergency_shutdown=outcome.status == "confirmed",
    )
