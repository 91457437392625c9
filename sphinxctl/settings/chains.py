"""Chain settings: one entry per network the platform deploys to."""

from __future__ import annotations

from pydantic import Field, field_validator

from sphinxctl.settings.base import StrictModel


class ChainSettings(StrictModel):
    """One EVM network: identity, RPC endpoints, explorer, confirmations and fee policy."""

    name: str = Field(description="Short name: ethereum, polygon, arbitrum")
    display_name: str = ""
    chain_id: int = Field(gt=0)
    rpc_urls: list[str] = Field(min_length=1)
    explorer_url: str | None = None
    native_token: str = "ETH"
    confirmations: int = Field(default=1, ge=0, le=256)
    max_base_fee_gwei: float = Field(default=200.0, gt=0, description="Abort above this base fee")
    max_priority_fee_gwei: float = Field(default=3.0, ge=0)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    stuck_timeout_seconds: float = Field(default=180.0, gt=0)
    fee_bump_percent: int = Field(default=15, ge=10, le=200)
    devnet_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("rpc_urls")
    @classmethod
    def _urls_are_http(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://", "ws://", "wss://")):
                raise ValueError(f"RPC URL {url!r} must start with http(s):// or ws(s)://")
        return urls

    def explorer_link(self, kind: str, value: str) -> str | None:
        """Link to an address (`address`) or transaction (`tx`) on this chain's explorer."""
        if not self.explorer_url:
            return None
        return f"{self.explorer_url.rstrip('/')}/{kind}/{value}"
