"""What rarity reads return: a ranking of tokens and a checked proof (the API serves them as
they are; sphinxctl.api.schemas re-exports them)."""

from __future__ import annotations

from pydantic import BaseModel, Field

HEX32_PATTERN = r"^0x[0-9a-f]{64}$"


class RankedToken(BaseModel):
    token_id: int
    phi_score: int
    rank: int = Field(description="1 = highest phi score among the given tokens")
    rarity_tier: int
    snapshot_rank: int | None = Field(
        default=None, description="Rank in the latest published snapshot, when the token is in it"
    )


class RarityRanking(BaseModel):
    chain: str
    ranking: list[RankedToken]
    missing: list[int] = Field(description="Requested ids that are not minted")


class RarityProof(BaseModel):
    chain: str
    token_id: int
    phi_score: int
    rank: int
    leaf: str = Field(pattern=HEX32_PATTERN)
    proof: list[str]
    root: str = Field(pattern=HEX32_PATTERN)
    onchain_root: str = Field(pattern=HEX32_PATTERN)
    verified: bool = Field(description="The proof leads to the root published on chain")
    snapshot_id: int
