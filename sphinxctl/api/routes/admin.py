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

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Body, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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

if TYPE_CHECKING:
    from sphinxctl.platform.models import TxOutcome

router = api_router("/admin", "admin")

PausableContract = Annotated[
    PausableName,
    Path(description="The contract to pause or unpause"),
]
PauseClaims = Annotated[Claims, Depends(require(Permission.admin_pause))]
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


@dataclass(frozen=True)
class _AdminCall:
    """One admin transaction: what it sends, what the Safe is asked instead, how it is audited."""

    contract: str
    function: str  # on chain, with `args`
    args: tuple[Any, ...]
    proposal: tuple[str, list[str]]  # the Safe action and its arguments (`sphinxctl safe`)
    audit_action: str
    kind: str
    params: dict[str, Any]
    sender: Any = None  # the guardian: sends at once, never through the Safe
    label: str | None = None  # the call in the "reverted" message (default: the function)


def _send_or_propose(
    request: Request,
    claims: Claims,
    chain: str,
    call: _AdminCall,
    respond: Callable[[TxOutcome, dict[str, Any]], BaseModel],
) -> BaseModel | JSONResponse:
    """Send `call` while the API's signer holds ADMIN_ROLE (or the guardian sends it) and answer
    `respond(outcome, its tx_hash/status/block_number)`; once the Safe holds the role, propose
    it instead (202). A reverted transaction is a 409."""
    services = get_services(request)
    gateway = services.gateway
    gateway.address(chain, call.contract)
    if call.sender is None and not _holds(
        services, chain, call.contract, ADMIN_ROLE, _address(gateway.signer)
    ):
        return _propose(request, claims, chain, call.contract, *call.proposal)
    outcome = run_audited(
        services,
        claims,
        action=call.audit_action,
        chain=chain,
        target=call.contract,
        kind=call.kind,
        params=call.params,
        perform=lambda on_sent: gateway.transact(
            chain, call.contract, call.function, *call.args, on_sent=on_sent, sender=call.sender
        ),
    )
    if outcome.status == "failed":
        raise ApiProblem(
            409,
            f"{call.label or call.function} reverted on chain",
            reference="transaction-reverted",
            details={"tx_hash": outcome.tx_hash},
        )
    sent = {
        "tx_hash": outcome.tx_hash,
        "status": outcome.status,
        "block_number": outcome.block_number,
    }
    return respond(outcome, sent)


def _set_paused(
    request: Request, claims: Claims, chain: str, contract: str, paused: bool
) -> BaseModel | JSONResponse:
    function = "pause" if paused else "unpause"
    guardian = get_services(request).gateway.guardian if paused else None
    return _send_or_propose(
        request,
        claims,
        chain,
        _AdminCall(
            contract=contract,
            function=function,
            args=(),
            proposal=(function, ["nft" if contract == NFT else "vault"]),
            audit_action=f"contract.{function}",
            kind=function,
            params={"sender": "guardian"} if guardian is not None else {},
            sender=guardian,
        ),
        lambda outcome, sent: PauseResponse(
            chain=chain,
            contract=contract,
            paused=paused if outcome.status == "confirmed" else not paused,
            **sent,
        ),
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
    claims: PauseClaims,
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
    claims: PauseClaims,
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
    claims: Annotated[Claims, Depends(require(Permission.admin_shutdown))],
) -> Any:
    """Sends `activateEmergencyShutdown()` (or proposes it to the Safe: 202): irreversible;
    funds return from the strategies and every depositor can exit."""
    return _send_or_propose(
        request,
        claims,
        chain,
        _AdminCall(
            contract=VAULT,
            function="activateEmergencyShutdown",
            args=(),
            proposal=("emergency-shutdown", []),
            audit_action="vault.emergency_shutdown",
            kind="emergency_shutdown",
            params={},
            label="emergency shutdown",
        ),
        lambda outcome, sent: ShutdownResponse(
            chain=chain, emergency_shutdown=outcome.status == "confirmed", **sent
        ),
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
    claims: Annotated[Claims, Depends(require(Permission.rarity_publish))],
) -> Any:
    """Sends `setRarityRoot(root)` while the API's signer holds ADMIN_ROLE; once the Safe
    holds it, creates the Safe proposal and answers 202."""
    return _send_or_propose(
        request,
        claims,
        chain,
        _AdminCall(
            contract=NFT,
            function="setRarityRoot",
            args=(bytes.fromhex(root[2:]),),
            proposal=("set-rarity-root", [root]),
            audit_action="rarity.set_root",
            kind="rarity_publish",
            params={"root": root},
        ),
        lambda _, sent: RarityRootResponse(chain=chain, root=root, **sent),
    )
