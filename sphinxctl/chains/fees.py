"""EIP-1559 fees from `eth_feeHistory`, the configured base-fee ceiling, and fee bumps for
replacing a stuck transaction (same nonce)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sphinxctl.settings import ChainSettings

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient

GWEI = 10**9
HISTORY_BLOCKS = 10
REWARD_PERCENTILE = 50.0


class FeeQuote(BaseModel):
    """What to offer per gas for the next block, and the ceiling it was checked against."""

    base_fee_wei: int
    priority_fee_wei: int
    max_fee_wei: int
    ceiling_wei: int

    @property
    def above_ceiling(self) -> bool:
        return self.base_fee_wei > self.ceiling_wei

    @property
    def expected_fee_wei(self) -> int:
        """What a transaction is likely to pay per gas (next base fee + tip)."""
        return self.base_fee_wei + self.priority_fee_wei


def gwei(value: float) -> int:
    return round(value * GWEI)


def fees_from_history(history: dict[str, Any], chain: ChainSettings) -> FeeQuote:
    """Next base fee is the history's last entry; the tip is the median of recent blocks' median
    tips, capped at `max_priority_fee_gwei`. The max fee covers the base fee doubling (two full
    blocks) but never offers a base fee above the configured ceiling."""
    base_fees = [int(value, 16) for value in history.get("baseFeePerGas") or []]
    if not base_fees:
        from sphinxctl.errors import ChainError

        raise ChainError(
            f"{chain.name}: eth_feeHistory returned no base fee: the chain does not look like an "
            "EIP-1559 chain",
            hint="check the RPC URL points at the configured network",
        )
    next_base = base_fees[-1]
    rewards = sorted(int(row[0], 16) for row in history.get("reward") or [] if row)
    tip = rewards[len(rewards) // 2] if rewards else 0
    cap = gwei(chain.max_priority_fee_gwei)
    priority = min(tip, cap)
    ceiling = gwei(chain.max_base_fee_gwei)
    max_fee = max(min(2 * next_base, ceiling), next_base) + priority
    return FeeQuote(
        base_fee_wei=next_base, priority_fee_wei=priority, max_fee_wei=max_fee, ceiling_wei=ceiling
    )


def quote_fees(client: ChainClient) -> FeeQuote:
    history = client.fee_history(HISTORY_BLOCKS, [REWARD_PERCENTILE])
    return fees_from_history(history, client.chain)


def bumped(old_max_fee: int, old_priority: int, percent: int, current: FeeQuote) -> tuple[int, int]:
    """(max fee, tip) for a replacement: at least `percent` above the old offer on both (nodes
    require >= 10%), and at least what the market asks now."""
    factor = 1 + percent / 100
    priority = max(math.ceil(old_priority * factor), current.priority_fee_wei, old_priority + 1)
    max_fee = max(math.ceil(old_max_fee * factor), current.max_fee_wei, old_max_fee + 1)
    return max(max_fee, priority), priority


def format_gwei(wei: int) -> str:
    value = wei / GWEI
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4g}"
