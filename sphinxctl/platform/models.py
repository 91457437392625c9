"""What the platform's gateway returns: chain probes, token and vault state, transaction
outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_TIERS = ("common", "uncommon", "rare", "epic", "legendary")


def tier_name(tier: int) -> str:
    return _TIERS[tier] if 0 <= tier < len(_TIERS) else f"tier-{tier}"


@dataclass
class ChainProbe:
    """One RPC round: reachable, right chain id, head, latency, base fee."""

    chain: str
    reachable: bool
    chain_id: int | None = None
    expected_chain_id: int | None = None
    latest_block: int | None = None
    latency_ms: float | None = None
    base_fee_gwei: float | None = None
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.reachable and self.chain_id == self.expected_chain_id


@dataclass
class TokenInfo:
    token_id: int
    owner: str
    phi_score: int
    tier: int
    token_uri: str


@dataclass
class VaultInfo:
    address: str
    paused: bool
    emergency_shutdown: bool
    strategies: list[str]
    total_assets_wei: int
    asset: str
    asset_decimals: int
    locked_profit_wei: int
    profit_unlock_seconds: int
    fees_accrued_wei: int
    assets_per_share_wei: int  # what 10**share_decimals shares redeem for


@dataclass
class TxOutcome:
    tx_hash: str
    status: str  # confirmed | failed | pending
    block_number: int | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
