"""`safe execute`: send `execTransaction` for a proposal whose signatures meet the threshold.

The deploy journal's discipline, with the proposal file as the journal: the executor's signed
raw transaction (hash, nonce) is written to the file atomically *before* it is broadcast;
a rerun after a crash (even kill -9) re-broadcasts exactly those bytes or finds their receipt,
so one proposal is never sent twice. Before signing, the call is simulated (`eth_call`) and a
refusal is reported with its decoded reason; nothing is sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sphinxctl.deploy.faults import NO_FAULTS, Faults
from sphinxctl.deploy.journal import now
from sphinxctl.errors import Aborted, ChainError, TransactionError
from sphinxctl.safe.audit import Actor, recorded, track_transaction
from sphinxctl.safe.context import SafeContext, require_delegatecall_ack, require_intact
from sphinxctl.safe.files import ProposalLock, proposal_path, read_proposal, write_proposal
from sphinxctl.safe.model import Execution, Proposal

if TYPE_CHECKING:
    from pathlib import Path

    from sphinxctl.chains.signer import Signer
    from sphinxctl.store import Store

EXEC_SIGNATURE = (
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
)
KNOWN_PHRASES = ("already known", "already imported", "known transaction")
SAFE_ERRORS = {
    "GS013": "the call it makes reverted",
    "GS020": "too few signatures",
    "GS025": "the threshold is not met",
    "GS026": "a signature is not from an owner, or signatures are out of order",
}


class ExecutePreview(BaseModel):
    """What the operator confirms before the executor signs."""

    proposal: str
    chain: str
    safe: str
    description: str
    decoded: str
    executor: str
    gas_limit: int
    max_fee_per_gas: int
    max_cost_wei: int


class ExecuteResult(BaseModel):
    proposal: str
    chain: str
    safe: str
    description: str
    decoded: str
    executor: str
    dry_run: bool = False
    resumed: bool = False
    tx_hash: str | None = None
    block_number: int | None = None
    gas_used: int | None = None
    success: bool | None = None
    events: list[str] = Field(default_factory=list)


Confirm = Callable[[ExecutePreview], bool]


def _event_names(ctx: SafeContext) -> dict[str, str]:
    from eth_utils import keccak

    names = {}
    for contract, abi in ctx.abis.items():
        for entry in abi:
            if entry.get("type") == "event":
                types = ",".join(str(p["type"]) for p in entry.get("inputs", []))
                topic = "0x" + keccak(f"{entry['name']}({types})".encode()).hex()
                names[topic] = f"{contract}.{entry['name']}"
    return names


def _exec_data(proposal: Proposal) -> str:
    from sphinxctl.solidity.abi import encode_call

    return encode_call(EXEC_SIGNATURE, [*proposal.tx.exec_args(), proposal.signature_bytes()])


def _reason(ctx: SafeContext, exc: Any) -> str:
    from sphinxctl.solidity.abi import describe_revert

    data = exc.data.get("data") if isinstance(exc.data, dict) else exc.data
    return describe_revert(data, list(ctx.abis.values())) or str(exc.message)


def _refusal(ctx: SafeContext, proposal: Proposal, exc: Any) -> str:
    """Why the Safe refuses; for GS013 also why its call reverts (replayed from the Safe)."""
    from sphinxctl.chains.rpc import RpcError

    reason = _reason(ctx, exc)
    for code, words in SAFE_ERRORS.items():
        if code in reason:
            reason = f"{reason} ({words})"
    if "GS013" in reason and proposal.tx.operation == 0:
        inner = {"from": proposal.safe, "to": proposal.tx.to, "data": proposal.tx.data}
        try:
            ctx.client().call(inner)
        except RpcError as inner_exc:
            reason += f": {_reason(ctx, inner_exc)}"
    return reason


def _valid_signers(proposal: Proposal, owners: list[str]) -> list[str]:
    allowed = {o.lower() for o in owners}
    return [s.owner for s in proposal.signatures if s.owner.lower() in allowed]


def _prepare(
    ctx: SafeContext, proposal: Proposal, executor: Signer
) -> tuple[dict[str, Any], ExecutePreview]:
    """Checks against the chain, simulation and the unsigned transaction."""
    from sphinxctl.chains.fees import quote_fees
    from sphinxctl.chains.rpc import RpcError
    from sphinxctl.safe.operations import _require_current

    client = ctx.client()
    state = ctx.read_safe()
    _require_current(proposal, state)
    if state.nonce < proposal.tx.nonce:
        raise ChainError(
            f"proposal {proposal.id} has nonce {proposal.tx.nonce}; the Safe is at nonce "
            f"{state.nonce}: execute the earlier proposals first",
            reference="safe-nonce-ahead",
        )
    signers = _valid_signers(proposal, state.owners)
    if len(signers) < state.threshold:
        raise ChainError(
            f"proposal {proposal.id} has {len(signers)} owner signature(s); the Safe needs "
            f"{state.threshold}",
            hint=f"sign with more owners: sphinxctl safe sign {proposal.id} --key-env VAR",
            reference="safe-threshold-not-met",
        )
    call = {"from": executor.address, "to": ctx.safe, "data": _exec_data(proposal)}
    try:
        returned = client.call(call)
        gas = client.estimate_gas(call)
    except RpcError as exc:
        why = _refusal(ctx, proposal, exc)
        raise TransactionError(
            f"{ctx.chain.name}: the Safe refuses proposal {proposal.id}: {why}",
            hint="nothing was sent",
            reference="safe-execution-refused",
        ) from None
    if int(returned, 16) != 1:
        raise TransactionError(
            f"{ctx.chain.name}: the call of proposal {proposal.id} would fail inside the Safe",
            hint="nothing was sent",
            reference="safe-execution-refused",
        )
    fees = quote_fees(client)
    gas_limit = gas * 13 // 10 + 20_000  # Safe checks gasleft() against 63/64 of what is left
    tx = {
        **call,
        "gas": gas_limit,
        "maxFeePerGas": fees.max_fee_wei,
        "maxPriorityFeePerGas": fees.priority_fee_wei,
        "chainId": ctx.chain.chain_id,
        "type": 2,
        "value": 0,
    }
    preview = ExecutePreview(
        proposal=proposal.id,
        chain=ctx.chain.name,
        safe=proposal.safe,
        description=proposal.description,
        decoded=proposal.decoded,
        executor=executor.address,
        gas_limit=gas_limit,
        max_fee_per_gas=fees.max_fee_wei,
        max_cost_wei=gas_limit * fees.max_fee_wei,
    )
    return tx, preview


def execute(
    ctx: SafeContext,
    ref: str,
    executor: Signer,
    actor: Actor,
    store: Store | None = None,
    *,
    delegatecall: bool = False,
    dry_run: bool = False,
    confirm: Confirm | None = None,
    faults: Faults = NO_FAULTS,
) -> ExecuteResult:
    """Execute a proposal (see the module docstring); resume one a crashed run left pending."""
    with ProposalLock(ctx.project_root, ctx.environment):
        path = proposal_path(ctx.project_root, ctx.environment, ref)
        proposal = read_proposal(path)
        require_intact(ctx, proposal)
        result = ExecuteResult(
            proposal=proposal.id,
            chain=proposal.chain,
            safe=proposal.safe,
            description=proposal.description,
            decoded=proposal.decoded,
            executor=executor.address,
        )
        execution = proposal.execution
        if execution is not None and execution.status == "mined":
            raise ChainError(
                f"proposal {proposal.id} was already executed in {execution.tx_hash} "
                f"(block {execution.block_number}); nothing was sent",
                reference="safe-already-executed",
            )
        require_delegatecall_ack(proposal, delegatecall)
        params = {"proposal": proposal.id, "safe_tx_hash": proposal.safe_tx_hash}
        target = f"{proposal.chain}:{proposal.contract}"
        if execution is not None and execution.status in ("signed", "sent"):
            with recorded(store, actor, "safe.execute", target, {**params, "resumed": True}) as o:
                result.resumed = True
                _settle(ctx, proposal, path, result, faults, (store, actor))
                o.params.update(tx_hash=result.tx_hash, success=result.success)
            return result
        tx, preview = _prepare(ctx, proposal, executor)
        if dry_run:
            result.dry_run = True
            return result
        if confirm is not None and not confirm(preview):
            raise Aborted("not executed", hint="nothing was signed or sent")
        with recorded(store, actor, "safe.execute", target, params) as outcome:
            tx["nonce"] = ctx.client().nonce(executor.address, "pending")
            signed = executor.sign(tx)
            faults.hit("signed")
            proposal.execution = Execution(
                executor=executor.address,
                executor_nonce=int(tx["nonce"]),
                tx_hash=signed.tx_hash,
                raw=signed.raw,
                status="signed",
                signed_at=now(),
            )
            write_proposal(path, proposal)
            faults.hit("journaled")
            _settle(ctx, proposal, path, result, faults, (store, actor))
            outcome.params.update(tx_hash=result.tx_hash, success=result.success)
        return result


def _settle(
    ctx: SafeContext,
    proposal: Proposal,
    path: Path,
    result: ExecuteResult,
    faults: Faults,
    tracking: tuple[Store | None, Actor],
) -> None:
    """Broadcast the journaled bytes (unless mined already), wait for the receipt, record it."""
    execution = proposal.execution
    assert execution is not None
    client = ctx.client()
    result.tx_hash = execution.tx_hash
    store, actor = tracking
    track_transaction(store, ctx.chain.name, execution.tx_hash, actor)
    receipt = client.receipt(execution.tx_hash)
    if receipt is None:
        _broadcast(ctx, proposal, path)
        faults.hit("broadcast")
        receipt = _await(ctx, proposal, path)
    faults.hit("mined")
    status = int(receipt.get("status", "0x1"), 16)
    names = _event_names(ctx)
    events = [names.get(log["topics"][0], "unknown") for log in receipt.get("logs", [])]
    execution.status = "mined" if status == 1 else "reverted"
    execution.block_number = int(receipt["blockNumber"], 16)
    execution.gas_used = int(receipt["gasUsed"], 16)
    execution.success = status == 1 and "Safe.ExecutionSuccess" in events
    execution.events = events
    execution.mined_at = now()
    write_proposal(path, proposal)
    faults.hit("recorded")
    outcome = "confirmed" if execution.success else "failed"
    track_transaction(
        store, ctx.chain.name, execution.tx_hash, actor, outcome, execution.block_number
    )
    result.block_number = execution.block_number
    result.gas_used = execution.gas_used
    result.success = execution.success
    result.events = events
    if status != 1:
        raise TransactionError(
            f"{ctx.chain.name}: execTransaction of {proposal.id} reverted in "
            f"{execution.tx_hash}; the Safe's nonce was not used",
            hint="check `sphinxctl safe status`, then execute again",
            reference="transaction-reverted",
        )


def _broadcast(ctx: SafeContext, proposal: Proposal, path: Path) -> None:
    from sphinxctl.chains.rpc import RpcError

    execution = proposal.execution
    assert execution is not None
    try:
        ctx.client().send_raw(execution.raw)
    except RpcError as exc:
        if not exc.mentions(*KNOWN_PHRASES, "nonce too low"):
            raise TransactionError(
                f"{ctx.chain.name}: the node refused execTransaction of {proposal.id}: "
                f"{exc.message}",
                hint="the signed transaction is kept in the proposal file; fix the cause (e.g. "
                "fund the executor) and rerun `safe execute` to send it again",
                reference="broadcast-refused",
            ) from None
    if execution.status == "signed":
        execution.status = "sent"
        execution.sent_at = now()
        write_proposal(path, proposal)


def _await(ctx: SafeContext, proposal: Proposal, path: Path) -> dict[str, Any]:
    execution = proposal.execution
    assert execution is not None
    client = ctx.client()
    timeout = ctx.chain.stuck_timeout_seconds
    start, delay, rebroadcast = time.monotonic(), 0.02, False
    while True:
        receipt = client.receipt(execution.tx_hash)
        if receipt is not None:
            return receipt
        waited = time.monotonic() - start
        if client.nonce(execution.executor, "latest") > execution.executor_nonce:
            receipt = client.receipt(execution.tx_hash)
            if receipt is not None:
                return receipt
            raise TransactionError(
                f"{ctx.chain.name}: the executor's nonce {execution.executor_nonce} was used by "
                f"another transaction; {proposal.id} was not executed by this one",
                hint="check `sphinxctl safe status`; if the proposal is still pending, remove "
                "its `execution` entry only after confirming the transaction is gone",
                reference="nonce-consumed",
            )
        if waited >= timeout:
            raise TransactionError(
                f"{ctx.chain.name}: {execution.tx_hash} is not mined after {timeout:.0f} s",
                hint="rerun `sphinxctl safe execute`: it waits for the same transaction",
                reference="transaction-pending",
            )
        if waited >= timeout / 3 and not rebroadcast:
            rebroadcast = True
            if client.transaction(execution.tx_hash) is None:
                _broadcast(ctx, proposal, path)
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
