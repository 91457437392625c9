"""Contract-level reads that several callers share, each failing loudly: a read the node did not
answer raises `ChainError` rather than standing in for "no code" or a default value."""

from __future__ import annotations

from sphinxctl.chains.rpc import ChainClient
from sphinxctl.errors import ChainError


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def has_code(code: str) -> bool:
    """Whether bytecode (an `eth_getCode` answer, an artifact's) holds any: "0x" means none."""
    return code not in ("0x", "", "0x0")


def code_present(client: ChainClient, deployed: dict[str, str]) -> dict[str, bool]:
    """Contract name -> whether its address holds code. A failed read raises ChainError."""
    present: dict[str, bool] = {}
    for name, address in deployed.items():
        try:
            code = client.code(address)
        except ChainError as exc:
            raise ChainError(
                f"{client.chain.name}: could not read the code of {name} at {address}: "
                f"{_short(exc)}",
                reference="code-unreadable",
                hint="check the chain's RPC endpoint; readiness cannot tell whether it is deployed",
            ) from exc
        present[name] = has_code(code)
    return present


def asset_decimals(client: ChainClient, asset: str) -> int:
    """The ERC-20 `decimals()` of `asset`. ChainError when it cannot be read: guessing 18 would
    put a 6-decimal asset's figures off by 10**12."""
    problem = ""
    try:
        raw = client.call({"to": asset, "data": "0x313ce567"})  # decimals()
    except ChainError as exc:
        problem = _short(exc)
    else:
        value = int(raw, 16) if isinstance(raw, str) and raw not in ("0x", "") else None
        if value is not None and 0 <= value <= 255:
            return value
        problem = "no contract code there" if raw in ("0x", "") else f"answer {raw!r} is no uint8"
    raise ChainError(
        f"{client.chain.name}: could not read decimals() of the vault's asset {asset}: {problem}",
        reference="asset-decimals-unreadable",
        hint="the vault's asset must be an ERC-20 with decimals(); check the asset and the RPC URL",
    )
