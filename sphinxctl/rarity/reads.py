"""Batched phi-score reads: many `phiScore(id)` calls per round trip through Multicall3.

Why Multicall3 and not JSON-RPC batches or events: a batch request still costs the node one
`eth_call` per token and many providers cap batch sizes (or bill per call), while one
`aggregate3` eth_call returns hundreds of scores in one EVM execution and one HTTP answer;
events (`Minted`) would miss later score changes. Multicall3 sits at the same address on the
public chains, and `sphinxctl devnet up` places an aggregate3-compatible build there.

Batches are bounded (`batch_size`, 500 by default: ~3M gas of view calls, far under the
node's eth_call gas cap). A batch whose transport fails is retried by the ChainClient (backoff,
fail-over); a batch the node refuses (gas cap, response size) is split in half and retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sphinxctl.chains.devnet import MULTICALL3_ADDRESS
from sphinxctl.chains.reads import has_code
from sphinxctl.rarity.errors import MulticallMissing
from sphinxctl.solidity.abi import selector, selector_hex

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient

DEFAULT_BATCH_SIZE = 500
MAX_BATCH_SIZE = 2000
_PHI_SCORE = selector("phiScore(uint256)")
_TOTAL_MINTED = selector_hex("totalMinted()")
_AGGREGATE3 = selector("aggregate3((address,bool,bytes)[])")

OnBatch = Callable[[int], None]


class ScoreReader:
    """Phi scores of an NFT collection, read in bounded batches; counts its round trips."""

    def __init__(
        self,
        client: ChainClient,
        nft: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        multicall: str = MULTICALL3_ADDRESS,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size must be within 1..{MAX_BATCH_SIZE}")
        self.client = client
        self.nft = nft
        self.batch_size = batch_size
        self.multicall = multicall
        self.round_trips = 0

    def total_minted(self) -> int:
        self.round_trips += 1
        raw = self.client.call({"to": self.nft, "data": _TOTAL_MINTED})
        return int(raw, 16) if raw not in ("0x", "") else 0

    def check_multicall(self) -> None:
        self.round_trips += 1
        if not has_code(self.client.code(self.multicall)):
            raise MulticallMissing(
                f"{self.client.name}: no Multicall3 contract at {self.multicall}"
            )

    def scores(self, token_ids: Sequence[int], on_batch: OnBatch | None = None) -> dict[int, int]:
        """token id -> phi score for every token that exists (a failed call is a missing or
        burned token and is left out). `on_batch(n)` after each batch of n tokens."""
        self.check_multicall()
        found: dict[int, int] = {}
        for start in range(0, len(token_ids), self.batch_size):
            batch = token_ids[start : start + self.batch_size]
            found.update(self._batch(batch))
            if on_batch is not None:
                on_batch(len(batch))
        return found

    def _batch(self, token_ids: Sequence[int]) -> dict[int, int]:
        from sphinxctl.chains.rpc import RpcError

        try:
            raw = self._aggregate(token_ids)
        except RpcError:
            if len(token_ids) == 1:
                raise
            half = len(token_ids) // 2  # refused as a whole (gas cap, size): split and retry
            return {**self._batch(token_ids[:half]), **self._batch(token_ids[half:])}
        return _decode(token_ids, raw)

    def _aggregate(self, token_ids: Sequence[int]) -> str:
        from eth_abi.abi import encode

        calls = [(self.nft, True, _PHI_SCORE + t.to_bytes(32, "big")) for t in token_ids]
        data = "0x" + (_AGGREGATE3 + encode(["(address,bool,bytes)[]"], [calls])).hex()
        self.round_trips += 1
        return self.client.call({"to": self.multicall, "data": data})


def _decode(token_ids: Sequence[int], raw: str) -> dict[int, int]:
    from eth_abi.abi import decode

    (results,) = decode(["(bool,bytes)[]"], bytes.fromhex(raw.removeprefix("0x")))
    if len(results) != len(token_ids):
        raise ValueError("Multicall3 answered a different number of results")
    return {
        token_id: int.from_bytes(data[:32], "big")
        for token_id, (ok, data) in zip(token_ids, results, strict=True)
        if ok and len(data) >= 32
    }
