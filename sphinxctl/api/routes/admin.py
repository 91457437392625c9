"""Admin routes: pause and unpause a contract, activate the vault's emergency shutdown, publish
the rarity root.

Pause is sent at once by the guardian key (`api.guardian_key`, GUARDIAN_ROLE: it can pause and
nothing else), else by the API's signer. Every other action is sent directly only while the
API's signer still holds ADMIN_ROLE (before handover); once the Safe holds it, the route
creates a Safe proposal (`deployments/<env>/safe/<id>.json`) and answers 202 with its id, for
the owners to sign and execute with `sphinxctl safe sign|execute`. Each call is audited (store
and audit log).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Path, Request
from fastapi.responses import JSONResponse

from sphinxctl.api.dependencies import get_services, require
from sphinxctl.api.errors import CONFLICT, ApiProblem
from sphinxctl.api.routes.common import ChainName, api_router, protected
from sphinxctl.api.schemas import (
    PauseResponse,
    RarityRootResponse,
    SafeProposalResponse,
    ShutdownResponse,
)
from sphinxctl.auth import Claims, Permission
from sphinxctl.platform.actions import run_audited
from sphinxctl.platform.errors import GatewayError
from sphinxctl.solidity.names import NFT, VAULT, PausableName

router = api_router("/admin", "admin")

PausableContract = Annotated[
    PausableName,
    Path(description="The contract to pause or unpause"),
]
PROPOSED: dict[int | str, Any] = {
    202: {"model": SafeProposalResponse, "description": "The Safe must act: proposed"}
}
ADMIN_ROLE = "ADMIN_ROLE"


def _holds(services: Any, chain: str, contract: str, role: str, account: str | None) -> bool:
    from sphinxctl.solidity.abi import role_id

    if account is None:
        return False
    try:
        return bool(
            services.gateway.call(
                chain, contract, "hasRole", bytes.fromhex(role_id(role)[2:]), account
            )
        )
    except GatewayError:
        return False


def _address(signer: Any) -> str | None:
    return getattr(signer, "address", None)


def _propose(
    request: Request, claims: Claims, chain: str, contract: str, action: str, args: list[str]
) -> JSONResponse:
    """Create the Safe proposal of `action` and answer 202 with it."""
    from sphinxctl.safe.audit import Actor
    from sphinxctl.safe.context import open_context
    from sphinxctl.safe.operations import ProposeRequest, propose

    services = get_services(request)
    context = open_context(services.settings, services.project_root, chain)
    proposal, _ = propose(
        context,
        ProposeRequest(chain=chain, action=action, args=args),
        Actor(name=claims.sub, role=claims.role.value),
        services.store,
    )
    body = SafeProposalResponse(
        chain=chain,
        contract=contract,
        proposal_id=proposal.id,
        safe=proposal.safe,
        safe_tx_hash=proposal.safe_tx_hash,
        nonce=proposal.tx.nonce,
        description=proposal.description,
        call=proposal.decoded,
        signatures_required=proposal.threshold,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


def _set_paused(
    request: Request, claims: Claims, chain: str, contract: str, paused: bool
) -> PauseResponse | JSONResponse:
    services = get_services(request)
    services.gateway.address(chain, contract)
    function = "pause" if paused else "unpause"
    gateway = services.gateway
    sender = None
    if paused and gateway.guardian is not None:
        sender = gateway.guardian
    elif not _holds(services, chain, contract, ADMIN_ROLE, _address(gateway.signer)):
        alias = "nft" if contract == NFT else "vault"
        return _propose(request, claims, chain, contract, function, [alias])
    outcome = run_audited(
        services,
        claims,
        action=f"contract.{function}",
        chain=chain,
        target=contract,
        kind=function,
        params={"sender": "guardian"} if sender is not None else {},
        perform=lambda on_sent: gateway.transact(
            chain, contract, function, on_sent=on_sent, sender=sender
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
    **protected(Permission.admin_pause, CONFLICT, PROPOSED),
)
def pause(
    request: Request,
    chain: ChainName,
    contract: PausableContract,
    claims: Claims = Depends(require(Permission.admin_pause)),
) -> Any:
    """Sends `pause()` from the guardian key; mints and transfers (NFT) or deposits (vault)
    stop."""
    return _set_paused(request, claims, chain, contract, True)


@router.post(
    "/{chain}/{contract}/unpause",
    response_model=PauseResponse,
    summary="Unpause a contract",
    **protected(Permission.admin_pause, CONFLICT, PROPOSED),
)
def unpause(
    request: Request,
    chain: ChainName,
    contract: PausableContract,
    claims: Claims = Depends(require(Permission.admin_pause)),
) -> Any:
    """Sends `unpause()`, or (once the Safe holds ADMIN_ROLE) proposes it to the Safe: 202."""
    return _set_paused(request, claims, chain, contract, False)


@router.post(
    "/{chain}/vault/emergency-shutdown",
    response_model=ShutdownResponse,
    summary="Activate the vault's emergency shutdown",
    **protected(Permission.admin_shutdown, CONFLICT, PROPOSED),
)
def emergency_shutdown(
    request: Request,
    chain: ChainName,
    claims: Claims = Depends(require(Permission.admin_shutdown)),
) -> Any:
    """Sends `activateEmergencyShutdown()` (or proposes it to the Safe: 202): irreversible;
    funds return from the strategies and every depositor can exit."""
    services = get_services(request)
    services.gateway.address(chain, VAULT)
    if not _holds(services, chain, VAULT, ADMIN_ROLE, _address(services.gateway.signer)):
        return _propose(request, claims, chain, VAULT, "emergency-shutdown", [])
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


RarityRoot = Annotated[
    str,
    Body(embed=True, pattern=r"^0x[0-9a-fA-F]{64}$", description="The Merkle root (bytes32)"),
]


@router.post(
    "/{chain}/nft/rarity-root",
    response_model=RarityRootResponse,
    summary="Set the rarity root (or propose it to the Safe)",
    **protected(Permission.rarity_publish, CONFLICT, PROPOSED),
)
def rarity_root(
    request: Request,
    chain: ChainName,
    root: RarityRoot,
    claims: Claims = Depends(require(Permission.rarity_publish)),
) -> Any:
    """Sends `setRarityRoot(root)` while the API's signer holds ADMIN_ROLE; once the Safe
    holds it, creates the Safe proposal and answers 202."""
    services = get_services(request)
    services.gateway.address(chain, NFT)
    if not _holds(services, chain, NFT, ADMIN_ROLE, _address(services.gateway.signer)):
        return _propose(request, claims, chain, NFT, "set-rarity-root", [root])
    outcome = run_audited(
        services,
        claims,
        action="rarity.set_root",
        chain=chain,
        target=NFT,
        kind="rarity_publish",
        params={"root": root},
        perform=lambda on_sent: services.gateway.transact(
            chain, NFT, "setRarityRoot", bytes.fromhex(root[2:]), on_sent=on_sent
        ),
    )
    if outcome.status == "failed":
        raise ApiProblem(
            409,
            "setRarityRoot reverted on chain",
            reference="transaction-reverted",
            details={"tx_hash": outcome.tx_hash},
        )
    return RarityRootResponse(
        chain=chain,
        tx_hash=outcome.tx_hash,
        status=outcome.status,  # type: ignore[arg-type]
        block_number=outcome.block_number,
        root=root,
    )
