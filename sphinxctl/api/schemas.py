"""Request and response models of the API (what OpenAPI documents and clients rely on).

Models the domain returns as they are (rarity ranking and proofs) are defined with it and
re-exported here, so this module lists every shape the API speaks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sphinxctl.rarity.models import HEX32_PATTERN as HEX32_PATTERN
from sphinxctl.rarity.models import RankedToken as RankedToken
from sphinxctl.rarity.models import RarityProof as RarityProof
from sphinxctl.rarity.models import RarityRanking as RarityRanking

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class ChainReadiness(BaseModel):
    chain: str
    ok: bool
    reachable: bool
    chain_id: int | None = None
    expected_chain_id: int | None = None
    latest_block: int | None = None
    latency_ms: float | None = None
    error: str | None = None


class ComponentReadiness(BaseModel):
    ok: bool
    latency_ms: float | None = None
    detail: str | None = None


class ContractPresence(BaseModel):
    chain: str
    contract: str
    address: str
    present: bool


class ReadinessReport(BaseModel):
    """What /health/ready found; `failed` names every part that is not ready."""

    ready: bool
    failed: list[str]
    chains: list[ChainReadiness]
    redis: ComponentReadiness
    database: ComponentReadiness
    contracts: list[ContractPresence]


class ContractEntry(BaseModel):
    contract: str
    address: str
    explorer_url: str | None = None


class ChainContracts(BaseModel):
    chain: str
    chain_id: int
    display_name: str
    contracts: list[ContractEntry]


class ContractsResponse(BaseModel):
    environment: str
    chains: list[ChainContracts]


class Token(BaseModel):
    chain: str
    token_id: int
    owner: str
    phi_score: int
    rarity_tier: int = Field(description="0 common .. 4 legendary")
    rarity_tier_name: str
    token_uri: str


class SnapshotResponse(BaseModel):
    chain: str
    snapshot_id: int
    root: str = Field(pattern=HEX32_PATTERN)
    leaf_count: int
    published: bool
    tx_hash: str | None = None


class MintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: str = Field(description="EIP-55 checksummed (or single-case) address")
    phi_score: int


class TransactionResponse(BaseModel):
    chain: str
    tx_hash: str
    status: Literal["confirmed", "failed", "pending"]
    block_number: int | None = None


class MintResponse(TransactionResponse):
    token_id: int | None = None
    recipient: str
    phi_score: int


class PauseResponse(TransactionResponse):
    contract: str
    paused: bool


class ShutdownResponse(TransactionResponse):
    emergency_shutdown: bool


class VaultState(BaseModel):
    chain: str
    address: str
    paused: bool
    emergency_shutdown: bool
    strategies: list[str]
    total_assets_wei: str = Field(description="Decimal string (uint256)")
    total_assets: float = Field(description="In whole asset tokens")
    asset: str
    locked_profit_wei: str = Field(
        description="Harvested profit not yet released to holders (decimal string)"
    )
    profit_unlock_seconds: int = Field(description="Window over which profit is released")
    fees_accrued_wei: str = Field(description="Treasury fees not yet claimed (decimal string)")
    share_price: float = Field(description="Asset tokens one whole vault share redeems for")


class WhoAmI(BaseModel):
    subject: str
    role: str
    permissions: list[str]
    token_id: str | None = None
    expires_at: int | None = None


class RarityRootResponse(TransactionResponse):
    root: str


class SafeProposalResponse(BaseModel):
    """An admin action the Safe must execute: proposed, to be signed by its owners
    (`sphinxctl safe sign <proposal_id>`) and executed (`sphinxctl safe execute`)."""

    chain: str
    contract: str
    status: Literal["proposed"] = "proposed"
    proposal_id: str
    safe: str
    safe_tx_hash: str
    nonce: int
    description: str
    call: str
    signatures_required: int
