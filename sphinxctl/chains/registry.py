"""Chain registry helpers over `settings.chains`: selection, explorer links, safe URL display."""

from __future__ import annotations

from urllib.parse import urlsplit

from sphinxctl.errors import UsageError
from sphinxctl.settings import ChainSettings, Settings

# Block explorers of the networks sphinxctl deploys to, by chain id (used when a chain's
# `explorer_url` is not configured). Devnets (env `local`) have no explorer.
KNOWN_EXPLORERS: dict[int, str] = {
    1: "https://etherscan.io",
    11155111: "https://sepolia.etherscan.io",
    17000: "https://holesky.etherscan.io",
    137: "https://polygonscan.com",
    80002: "https://amoy.polygonscan.com",
    42161: "https://arbiscan.io",
    421614: "https://sepolia.arbiscan.io",
}


def select_chains(settings: Settings, names: list[str] | None) -> list[ChainSettings]:
    """The chains named (all configured chains when `names` is empty), in config order."""
    if not names:
        return list(settings.chains.values())
    unknown = [name for name in names if name not in settings.chains]
    if unknown:
        raise UsageError(
            f"unknown chain {', '.join(repr(n) for n in unknown)} for environment "
            f"{settings.environment!r}",
            hint=f"--chain takes a comma-separated list of: {', '.join(settings.chains)}",
        )
    wanted = set(names)
    return [chain for name, chain in settings.chains.items() if name in wanted]


def parse_chain_option(value: str | None) -> list[str] | None:
    """`--chain ethereum,polygon` -> ["ethereum", "polygon"]; empty -> None (all chains)."""
    if not value:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    return names or None


def explorer_base(chain: ChainSettings, environment: str) -> str | None:
    """The chain's block explorer: configured, else the known one for its id (none on a devnet)."""
    if chain.explorer_url:
        return chain.explorer_url.rstrip("/")
    if environment == "local":
        return None
    return KNOWN_EXPLORERS.get(chain.chain_id)


def explorer_link(chain: ChainSettings, environment: str, kind: str, value: str) -> str | None:
    """Link to an `address` or a `tx` on the chain's explorer (None without an explorer)."""
    base = explorer_base(chain, environment)
    return f"{base}/{kind}/{value}" if base else None


def verify_url(explorer: str | None, address: str) -> str | None:
    """The explorer's source-verification form for `address` (Etherscan-family explorers)."""
    return f"{explorer}/verifyContract?a={address}" if explorer else None


def display_url(url: str) -> str:
    """An RPC URL safe to print: scheme, host and port only (paths and queries often hold API
    keys, e.g. `https://eth-mainnet.example/v2/<key>`)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    more = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{more}"
