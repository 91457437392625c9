"""Yield the aggregator harvests, read from its `Harvested` events on chain.

Feeds sphinxos_yield_harvested_total (the "low yield generation" alert). The vault keeps no
running total, so the poller scans the events of the blocks it has not seen yet: a bounded
block range per round, starting at the head it first saw (a counter covers the process's life;
Prometheus' increase() takes care of restarts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sphinxctl.solidity.abi import event_topic

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient

# Harvested(address indexed strategy, uint256 indexed profit, uint256 indexed treasuryShare,
#           uint256 distributed): profit is the second indexed topic.
HARVESTED_TOPIC = event_topic("Harvested(address,uint256,uint256,uint256)")
MAX_BLOCK_RANGE = 2_000


def harvested_profit(client: ChainClient, vault: str, from_block: int, to_block: int) -> int:
    """Sum of the profit (asset base units) of the vault's harvests in the block range."""
    logs = client.logs(
        {
            "address": vault,
            "topics": [HARVESTED_TOPIC],
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
        }
    )
    return sum(int(log["topics"][2], 16) for log in logs)


class HarvestScanner:
    """Remembers, per chain, the first block not yet scanned."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def scan(self, chain: str, client: ChainClient, vault: str, head: int) -> int:
        """Profit harvested in the blocks since the last scan (0 on the first one)."""
        start = self._next.get(chain)
        if start is None:
            self._next[chain] = head + 1
            return 0
        if head < start:
            return 0
        end = min(head, start + MAX_BLOCK_RANGE - 1)
        profit = harvested_profit(client, vault, start, end)
        self._next[chain] = end + 1
        return profit
