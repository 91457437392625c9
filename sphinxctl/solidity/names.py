"""The platform's contract names (as in contracts/*.sol and the artifacts), defined once."""

from __future__ import annotations

from typing import Final, Literal, get_args

PausableName = Literal["SpaceFlightNFT", "SphinxYieldAggregator"]
"""The contracts an admin can pause (a type: the API's path parameter lists these values)."""

NFT: Final[str] = get_args(PausableName)[0]
VAULT: Final[str] = get_args(PausableName)[1]
LOCAL_TOKEN: Final = "DevnetSPX"  # the SPX stand-in deployed on the local devnet only
PAUSABLE: Final[tuple[str, ...]] = (NFT, VAULT)
