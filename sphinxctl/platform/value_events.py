"""Value moved through the platform, read from contract events: sphinxos_transaction_value.

Mint payments (the NFT's `Minted` fee) and vault deposits and withdrawals (`Deposited` /
`Withdrawn`, or ERC-4626's `Deposit` / `Withdraw` with `assets`). Which events exist and where
their amount sits (an indexed topic or the data) is read from the compiled ABI, so a contract
redesign that keeps one of these names keeps feeding the metric. Like the harvest scan, each
round reads the blocks not seen yet (bounded), starting at the head first seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphinxctl.solidity.abi import abi_type, decode_result, event_topic, signature_of
from sphinxctl.solidity.names import NFT, VAULT

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient

MAX_BLOCK_RANGE = 2_000
# contract -> event name -> (amount field, kind label)
VALUE_EVENTS: dict[str, dict[str, tuple[str, str]]] = {
    NFT: {"Minted": ("fee", "mint_payment")},
    VAULT: {
        "Deposited": ("amount", "deposit"),
        "Withdrawn": ("amount", "withdrawal"),
        "Deposit": ("assets", "deposit"),
        "Withdraw": ("assets", "withdrawal"),
    },
}

EVENT_KINDS = frozenset(kind for events in VALUE_EVENTS.values() for _, kind in events.values())


@dataclass(frozen=True)
class ValueEvent:
    """Where one event's amount is: topic `topic_index`, or position `data_index` in data."""

    topic0: str
    kind: str
    topic_index: int | None
    data_types: tuple[str, ...]
    data_index: int | None


def value_events(contract: str, abi: list[dict[str, Any]]) -> list[ValueEvent]:
    """The value-bearing events of `contract` that its ABI declares."""
    wanted = VALUE_EVENTS.get(contract, {})
    found = []
    for entry in abi:
        if entry.get("type") != "event" or entry.get("name") not in wanted:
            continue
        field, kind = wanted[entry["name"]]
        inputs = entry.get("inputs", [])
        indexed = [i for i in inputs if i.get("indexed")]
        data = [i for i in inputs if not i.get("indexed")]
        topic_index = next((n + 1 for n, i in enumerate(indexed) if i["name"] == field), None)
        data_index = next((n for n, i in enumerate(data) if i["name"] == field), None)
        if topic_index is None and data_index is None:
            continue
        found.append(
            ValueEvent(
                topic0=event_topic(signature_of(entry)),
                kind=kind,
                topic_index=topic_index,
                data_types=tuple(abi_type(i) for i in data),
                data_index=data_index,
            )
        )
    return found


def amount_of(event: ValueEvent, log: dict[str, Any]) -> int:
    if event.topic_index is not None:
        return int(log["topics"][event.topic_index], 16)
    values = decode_result(event.data_types, str(log["data"]))
    return int(values[event.data_index or 0])


class ValueScanner:
    """Remembers, per chain, the first block not yet scanned."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def scan(
        self,
        chain: str,
        client: ChainClient,
        watched: list[tuple[str, list[ValueEvent]]],
        head: int,
    ) -> list[tuple[str, str, int]]:
        """(address, kind, amount in base units) of every value event since the last scan."""
        start = self._next.get(chain)
        if start is None:
            self._next[chain] = head + 1
            return []
        if head < start - 1:  # the chain went back (reorg, devnet revert): go on from here
            self._next[chain] = head + 1
            return []
        if head < start:
            return []
        end = min(head, start + MAX_BLOCK_RANGE - 1)
        moved: list[tuple[str, str, int]] = []
        for address, events in watched:
            by_topic = {e.topic0: e for e in events}
            if not by_topic:
                continue
            logs = client.logs(
                {
                    "address": address,
                    "topics": [sorted(by_topic)],
                    "fromBlock": hex(start),
                    "toBlock": hex(end),
                }
            )
            for log in logs:
                event = by_topic.get(str(log["topics"][0]).lower())
                if event is not None:
                    moved.append((address, event.kind, amount_of(event, log)))
        self._next[chain] = end + 1
        return moved
