"""Models crossing the deploy package's boundary: plan steps, the cost preview, progress events
and results."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sphinxctl.chains.fees import FeeQuote

Phase = Literal["deploy", "handover"]


class Ref(BaseModel):
    """The address of something this deployment creates (a contract name, "Safe") or "deployer"."""

    ref: str


Arg = Ref | int | str


class Condition(BaseModel):
    """On-chain state that makes a call unnecessary (checked before signing)."""

    kind: Literal["has_role", "lacks_role", "admin_transfer_started"]
    role: str
    account: Arg


class PlanStep(BaseModel):
    """One intended transaction (or, kind `check`, a gate between transactions)."""

    intent: str
    kind: Literal["deploy", "call", "check"]
    phase: Phase = "deploy"
    contract: str = Field(description="deploy: the name recorded; call: the target contract")
    artifact: str | None = None
    function: str | None = None
    args: list[Arg] = Field(default_factory=list)
    description: str
    local_only: bool = False
    skip_when: Condition | None = None
    produces: str | None = Field(default=None, description="contract a call creates (Safe)")


class ChainPlan(BaseModel):
    chain: str
    phase: Phase
    steps: list[PlanStep]


class Problem(BaseModel):
    """A reason to refuse before signing anything."""

    chain: str
    reference: str
    message: str
    hint: str | None = None


class TxPreview(BaseModel):
    nonce: int | None
    intent: str
    description: str
    status: Literal["new", "pending", "done", "skip"]
    gas: int = 0
    gas_limit: int = 0
    gas_source: Literal["node", "bound", "journal", "none"] = "none"


class ChainPreview(BaseModel):
    """One chain's preflight: identity, balance, nonce, fees, every transaction and its cost."""

    chain: str
    display_name: str
    chain_id: int
    endpoint: str
    native_token: str
    deployer: str
    reachable: bool = False
    answered_chain_id: int | None = None
    balance_wei: int | None = None
    nonce: int | None = None
    fees: FeeQuote | None = None
    txs: list[TxPreview] = Field(default_factory=list)
    total_gas: int = 0
    max_cost_wei: int = 0
    expected_cost_wei: int = 0
    shortfall_wei: int = 0
    problems: list[Problem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    reset_detected: bool = False
    genesis_hash: str | None = None

    @property
    def new_transactions(self) -> int:
        return sum(1 for tx in self.txs if tx.status == "new")

    @property
    def pending_transactions(self) -> int:
        return sum(1 for tx in self.txs if tx.status == "pending")


class CostPreview(BaseModel):
    environment: str
    action: Phase
    deployer: str
    chains: list[ChainPreview]

    @property
    def problems(self) -> list[Problem]:
        return [problem for chain in self.chains for problem in chain.problems]

    @property
    def to_send(self) -> int:
        return sum(c.new_transactions + c.pending_transactions for c in self.chains)


class DeployEvent(BaseModel):
    """Progress, rendered by the CLI (rich progress) or ignored by other callers."""

    kind: Literal[
        "info",
        "preview",
        "chain-start",
        "tx-signed",
        "tx-sent",
        "tx-mined",
        "tx-replaced",
        "tx-rebroadcast",
        "step-skipped",
        "confirming",
        "chain-done",
        "chain-failed",
        "verify",
    ]
    chain: str | None = None
    message: str = ""
    done: int | None = None
    total: int | None = None
    tx_hash: str | None = None
    preview: CostPreview | None = None


class ChainOutcome(BaseModel):
    chain: str
    ok: bool
    sent: int = 0
    rebroadcast: int = 0
    replaced: int = 0
    skipped: int = 0
    contracts: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    error_reference: str | None = None
    hint: str | None = None


class ContractCheck(BaseModel):
    """Runtime code on chain vs the artifact's deployed bytecode (immutables masked)."""

    chain: str
    contract: str
    address: str
    ok: bool
    reason: str | None = None
    code_bytes: int = 0
    explorer_url: str | None = None


class VerifyReport(BaseModel):
    environment: str
    checks: list[ContractCheck]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


class RoleHolders(BaseModel):
    """Role -> holders of one contract, rebuilt from RoleGranted/RoleRevoked logs."""

    chain: str
    contract: str
    address: str
    roles: dict[str, list[str]]


class DeployResult(BaseModel):
    environment: str
    action: Phase
    dry_run: bool
    journal: str
    preview: CostPreview
    chains: dict[str, ChainOutcome] = Field(default_factory=dict)
    sent: int = 0
    verification: VerifyReport | None = None
    roles: list[RoleHolders] = Field(default_factory=list)
    deployer_roles_left: list[str] = Field(default_factory=list)
