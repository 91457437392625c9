"""`safe propose`, `safe sign`, `safe status`: build a SafeTx for an admin action, add owners'
signatures to its proposal file, and report where each proposal stands.

Proposals are files (`deployments/<env>/safe/<id>.json`), so signing works offline with only
the file; with the chain reachable the signer is checked against the Safe's owners on chain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from sphinxctl.deploy.journal import now
from sphinxctl.errors import ChainError, UsageError
from sphinxctl.safe.actions import build_call
from sphinxctl.safe.audit import Actor, recorded
from sphinxctl.safe.context import (
    SafeContext,
    SafeState,
    integrity_problems,
    require_delegatecall_ack,
    require_intact,
)
from sphinxctl.safe.files import (
    ProposalLock,
    list_proposals,
    proposal_path,
    proposals_dir,
    read_proposal,
    write_proposal,
)
from sphinxctl.safe.keys import OwnerKey
from sphinxctl.safe.model import CALL, DELEGATECALL, OwnerSignature, Proposal, SafeTx, safe_tx_hash

if TYPE_CHECKING:
    from sphinxctl.store import Store


class ProposeRequest(BaseModel):
    chain: str
    action: str
    args: list[str] = Field(default_factory=list)
    delegatecall: bool = False
    nonce: int | None = None


class SignResult(BaseModel):
    proposal: Proposal
    path: str
    signer: str
    signatures: int
    threshold: int
    checked_on_chain: bool
    already_signed: bool = False


ProposalState = Literal["pending", "ready", "executed", "stale", "tampered", "executing"]


class ProposalStatus(BaseModel):
    id: str
    path: str
    chain: str
    safe: str
    action: str
    description: str
    decoded: str
    operation: str
    nonce: int
    safe_nonce: int | None
    safe_tx_hash: str
    threshold: int
    signed_by: list[str]
    missing: int
    state: ProposalState
    problems: list[str] = Field(default_factory=list)
    tx_hash: str | None = None


def _proposal_id(chain: str, nonce: int, action: str, digest: str) -> str:
    return f"{chain}-{nonce}-{action}-{digest[2:10]}"


def propose(
    ctx: SafeContext, request: ProposeRequest, actor: Actor, store: Store | None = None
) -> tuple[Proposal, Path]:
    """Build the SafeTx at the Safe's current nonce (or `request.nonce`), write its proposal
    file and record `safe.propose`. A DELEGATECALL only with `delegatecall` (raw calls only)."""
    if request.delegatecall and request.action != "call":
        raise UsageError("--delegatecall applies to a raw `call` only", reference="usage")
    call = build_call(request.action, request.args, ctx.abis)
    target = ctx.addresses.get(call.contract)
    if target is None:
        raise ChainError(
            f"{ctx.chain.name}: {call.contract} is not deployed in environment {ctx.environment!r}",
            hint="run `sphinxctl deploy contracts` first",
            reference="nothing-deployed",
        )
    state = ctx.read_safe()
    nonce = state.nonce if request.nonce is None else request.nonce
    if nonce < state.nonce:
        raise UsageError(
            f"nonce {nonce} was already used: the Safe's nonce is {state.nonce}",
            reference="safe-nonce-used",
        )
    tx = SafeTx(
        to=target,
        data=call.data,
        operation=DELEGATECALL if request.delegatecall else CALL,
        nonce=nonce,
    )
    digest = safe_tx_hash(tx, ctx.chain.chain_id, ctx.safe)
    proposal = Proposal(
        id=_proposal_id(ctx.chain.name, nonce, request.action, digest),
        environment=ctx.environment,
        chain=ctx.chain.name,
        chain_id=ctx.chain.chain_id,
        safe=ctx.safe,
        action=request.action,
        contract=call.contract,
        function=call.function,
        args=call.args,
        description=call.description,
        decoded=call.decoded,
        tx=tx,
        safe_tx_hash=digest,
        owners=state.owners,
        threshold=state.threshold,
        created_at=now(),
        proposed_by=actor.name,
    )
    path = proposals_dir(ctx.project_root, ctx.environment) / f"{proposal.id}.json"
    params = {
        "proposal": proposal.id,
        "safe_tx_hash": digest,
        "nonce": nonce,
        "call": call.decoded,
        "operation": "delegatecall" if request.delegatecall else "call",
        "to": target,
        "data": call.data,
    }
    with recorded(store, actor, "safe.propose", f"{ctx.chain.name}:{call.contract}", params):
        write_proposal(path, proposal)
    return proposal, path


def sign(
    ctx: SafeContext,
    ref: str,
    key: OwnerKey,
    actor: Actor,
    store: Store | None = None,
    *,
    offline: bool = False,
    delegatecall: bool = False,
) -> SignResult:
    """Add `key`'s signature over the proposal's SafeTx hash. The signer must be an owner:
    on chain (online), or in the owner list the file recorded (offline)."""
    with ProposalLock(ctx.project_root, ctx.environment):
        path = proposal_path(ctx.project_root, ctx.environment, ref)
        proposal = read_proposal(path)
        require_intact(ctx, proposal)
        require_delegatecall_ack(proposal, delegatecall)
        owners, state = proposal.owners, None
        if not offline:
            state = ctx.read_safe()
            owners = state.owners
            _require_current(proposal, state)
        if key.address.lower() not in {o.lower() for o in owners}:
            raise ChainError(
                f"{key.address} is not an owner of the Safe {proposal.safe} "
                f"({'on chain' if state else 'as recorded in the proposal'}); nothing was signed",
                hint=f"owners: {', '.join(owners)}",
                reference="safe-not-owner",
            )
        already = any(s.owner.lower() == key.address.lower() for s in proposal.signatures)
        if not already:
            params = {"proposal": proposal.id, "owner": key.address, "offline": offline}
            target = f"{proposal.chain}:{proposal.contract}"
            with recorded(store, actor, "safe.sign", target, params):
                proposal.signatures.append(
                    OwnerSignature(
                        owner=key.address,
                        signature=key.sign_hash(proposal.safe_tx_hash),
                        signed_at=now(),
                    )
                )
                write_proposal(path, proposal)
        return SignResult(
            proposal=proposal,
            path=str(path),
            signer=key.address,
            signatures=len(proposal.signatures),
            threshold=state.threshold if state else proposal.threshold,
            checked_on_chain=state is not None,
            already_signed=already,
        )


def _require_current(proposal: Proposal, state: SafeState) -> None:
    if proposal.execution is not None and proposal.execution.status == "mined":
        raise ChainError(
            f"proposal {proposal.id} was executed in {proposal.execution.tx_hash}",
            reference="safe-already-executed",
        )
    if state.nonce > proposal.tx.nonce:
        raise ChainError(
            f"proposal {proposal.id} is stale: the Safe's nonce {proposal.tx.nonce} was used by "
            f"another transaction (the Safe is at nonce {state.nonce})",
            hint="nothing was signed or sent; propose the action again",
            reference="safe-nonce-used",
        )


def _status(ctx: SafeContext, path: Path, state: SafeState | None) -> ProposalStatus:
    proposal = read_proposal(path)
    problems = integrity_problems(ctx, proposal)
    owners = {o.lower() for o in (state.owners if state else proposal.owners)}
    signed = [s.owner for s in proposal.signatures if s.owner.lower() in owners]
    threshold = state.threshold if state else proposal.threshold
    execution = proposal.execution
    resolved: ProposalState
    if problems:
        resolved = "tampered"
    elif execution is not None and execution.status == "mined":
        resolved = "executed"
    elif execution is not None and execution.status in ("signed", "sent"):
        resolved = "executing"
    elif state is not None and state.nonce > proposal.tx.nonce:
        resolved = "stale"
        problems.append(f"nonce {proposal.tx.nonce} was used by another transaction")
    else:
        resolved = "ready" if len(signed) >= threshold else "pending"
    return ProposalStatus(
        id=proposal.id,
        path=str(path),
        chain=proposal.chain,
        safe=proposal.safe,
        action=proposal.action,
        description=proposal.description,
        decoded=proposal.decoded,
        operation="delegatecall" if proposal.tx.operation == DELEGATECALL else "call",
        nonce=proposal.tx.nonce,
        safe_nonce=state.nonce if state else None,
        safe_tx_hash=proposal.safe_tx_hash,
        threshold=threshold,
        signed_by=signed,
        missing=max(0, threshold - len(signed)),
        state=resolved,
        problems=problems,
        tx_hash=execution.tx_hash if execution else None,
    )


def status(
    contexts: dict[str, SafeContext], project_root: Path, env: str, ref: str | None
) -> list[ProposalStatus]:
    """One proposal, or every proposal of the environment, against its Safe's state now."""
    paths = [proposal_path(project_root, env, ref)] if ref else list_proposals(project_root, env)
    states: dict[str, SafeState | None] = {}
    found = []
    for path in paths:
        chain = read_proposal(path).chain
        ctx = contexts.get(chain)
        if ctx is None:
            raise UsageError(f"proposal {path.name} is for chain {chain!r}, not configured here")
        if chain not in states:
            try:
                states[chain] = ctx.read_safe()
            except ChainError:  # offline: judged from the file alone (owners it recorded)
                states[chain] = None
        found.append(_status(ctx, path, states[chain]))
    return found
