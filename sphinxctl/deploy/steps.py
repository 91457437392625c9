"""What a plan step means on one chain: its state (done, pending, skip, to do), its resolved
arguments, its transaction fields and its gas estimate. Shared by preflight and the executor."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from sphinxctl.chains.rpc import ChainClient, RpcError
from sphinxctl.deploy.journal import FINAL_OK, PENDING, ChainJournal, TxRecord
from sphinxctl.deploy.models import Arg, Condition, PlanStep, Ref
from sphinxctl.deploy.roles import default_admin_moving_to
from sphinxctl.errors import ChainError
from sphinxctl.solidity.abi import (
    checksum,
    describe_revert,
    encode_call,
    encode_deploy,
    role_id,
)
from sphinxctl.solidity.artifacts import Artifact

GAS_MARGIN = 1.2
# Execution gas of one OpenZeppelin AccessControl role change (two cold SLOADs, one fresh
# SSTORE, a LOG4: ~30k) with headroom; used before the target contract exists.
ROLE_CALL_EXECUTION_BOUND = 40_000
PLACEHOLDER = "0x000000000000000000000000000000000000dEaD"

State = Literal["done", "pending", "skip", "todo"]


def gas_limit(estimate: int) -> int:
    return math.ceil(estimate * GAS_MARGIN)


@dataclass
class ChainView:
    """One chain's state as far as step resolution is concerned."""

    client: ChainClient
    deployer: str
    journal: ChainJournal | None
    artifacts: dict[str, Artifact]
    predicted: dict[str, str] = field(default_factory=dict)

    @property
    def abis(self) -> list[list[dict[str, Any]]]:
        return [artifact.abi for artifact in self.artifacts.values()]

    def address_of(self, name: str) -> str | None:
        if name == "deployer":
            return self.deployer
        jc = self.journal
        if jc is not None:
            if name in jc.contracts:
                return jc.contracts[name].address
            if name == "Safe" and jc.safe is not None:
                return jc.safe.address
        return self.predicted.get(name)

    def resolve(self, arg: Arg, *, placeholder: bool = False) -> Any:
        if isinstance(arg, Ref):
            address = self.address_of(arg.ref)
            if address is None:
                if placeholder:
                    return PLACEHOLDER
                raise ChainError(f"{self.client.name}: {arg.ref} has no address yet")
            return address
        return arg

    def record_for(self, step: PlanStep) -> TxRecord | None:
        return self.journal.by_intent(step.intent) if self.journal else None


def normalized(values: list[Any]) -> list[str]:
    return [str(v).lower() for v in values]


def condition_met(view: ChainView, step: PlanStep, condition: Condition) -> bool:
    """True when the condition holds on chain now (False while the target has no address)."""
    target = view.address_of(step.contract)
    if target is None or (view.journal is None or step.contract not in view.journal.contracts):
        return False
    account = view.resolve(condition.account, placeholder=True)
    if condition.kind == "admin_transfer_started":
        return default_admin_moving_to(view.client, target, str(account))
    data = encode_call("hasRole(bytes32,address)", [role_id(condition.role), account])
    result = view.client.call({"to": target, "data": data})
    holds = int(result, 16) == 1 if result not in ("0x", "") else False
    return holds if condition.kind == "has_role" else not holds


def step_state(view: ChainView, step: PlanStep) -> State:
    record = view.record_for(step)
    if record is not None and record.status in PENDING:
        return "pending"
    if step.kind == "deploy":
        jc = view.journal
        return "done" if jc is not None and step.contract in jc.contracts else "todo"
    if step.produces == "Safe":
        jc = view.journal
        return "done" if jc is not None and jc.safe is not None else "todo"
    if record is not None and record.status in FINAL_OK:
        return "done"
    if step.skip_when is not None and condition_met(view, step, step.skip_when):
        return "skip"
    return "todo"


def deploy_args(view: ChainView, step: PlanStep, *, placeholder: bool = False) -> list[Any]:
    return [view.resolve(arg, placeholder=placeholder) for arg in step.args]


def check_unchanged(view: ChainView, step: PlanStep) -> str | None:
    """A message when a deployed contract's recorded constructor arguments differ from the plan."""
    jc = view.journal
    if step.kind != "deploy" or jc is None or step.contract not in jc.contracts:
        return None
    recorded = jc.contracts[step.contract]
    if not recorded.args:
        return None
    wanted = deploy_args(view, step, placeholder=True)
    if normalized(wanted) != normalized(recorded.args):
        return (
            f"{step.contract} is already deployed at {recorded.address} with constructor "
            f"arguments {recorded.args}; the configuration now asks for {wanted}"
        )
    return None


def tx_fields(view: ChainView, step: PlanStep, *, placeholder: bool = False) -> dict[str, Any]:
    """`to` (absent for a creation) and `data` of a step."""
    args = deploy_args(view, step, placeholder=placeholder)
    if step.kind == "deploy":
        artifact = view.artifacts[step.artifact or step.contract]
        return {"data": encode_deploy(artifact.bytecode, artifact.abi, args)}
    assert step.function is not None
    target = view.address_of(step.contract)
    if target is None:
        if not placeholder:
            raise ChainError(f"{view.client.name}: {step.contract} is not deployed")
        target = PLACEHOLDER
    return {"to": checksum(target), "data": encode_call(step.function, args)}


def revert_text(view: ChainView, error: RpcError) -> str:
    return describe_revert(error.data, view.abis) or error.message


def estimate(
    view: ChainView,
    step: PlanStep,
    *,
    code_overrides: dict[str, str] | None = None,
    nonce: int | None = None,
) -> tuple[int, Literal["node", "bound"]]:
    """Gas for a step: the node's estimate on the current state (with the code of contracts not
    yet deployed placed at their predicted addresses), or — for a call to a contract that does
    not exist yet — the node's estimate of a same-size payload (intrinsic gas, plus the L1 data
    fee on rollups) plus a bound for the role change itself. RpcError when it would revert."""
    target_missing = step.kind == "call" and (
        view.journal is None or step.contract not in view.journal.contracts
    )
    fields = tx_fields(view, step, placeholder=True)
    if target_missing:
        probe = {"from": view.deployer, "to": view.deployer, "data": fields["data"]}
        return view.client.estimate_gas(probe) + ROLE_CALL_EXECUTION_BOUND, "bound"
    tx = {"from": view.deployer, **fields}
    overrides: dict[str, Any] = {
        addr: {"code": code} for addr, code in (code_overrides or {}).items()
    }
    if overrides and nonce is not None:  # so a creation lands where the plan predicts
        overrides[view.deployer] = {"nonce": hex(nonce)}
    if overrides:
        try:
            return view.client.estimate_gas(tx, overrides), "node"
        except RpcError as exc:
            if not exc.mentions("override", "invalid params", "unsupported", "too many"):
                raise
    return view.client.estimate_gas(tx), "node"
