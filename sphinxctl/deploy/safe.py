"""The Safe multisig: its 1.4.1 artifacts (npm `@safe-global/safe-contracts`), reading a Safe's
owners and threshold, and checking them against the configured expectation."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from sphinxctl.chains.reads import has_code
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.errors import ChainError, ConfigError, PreflightError
from sphinxctl.solidity.abi import DECODE_ERRORS, checksum, decode_result, selector_hex
from sphinxctl.solidity.artifacts import Artifact

SAFE_ARTIFACTS_DIR = Path("node_modules/@safe-global/safe-contracts/build/artifacts/contracts")
SAFE_FILES = {
    "Safe": "Safe.sol/Safe.json",
    "SafeProxyFactory": "proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
    "SafeProxy": "proxies/SafeProxy.sol/SafeProxy.json",
}
# Contract names recorded in the journal -> artifact names.
RECORDED_AS = {"SafeSingleton": "Safe", "SafeProxyFactory": "SafeProxyFactory", "Safe": "SafeProxy"}


def load_safe_artifacts(project_root: Path) -> dict[str, Artifact]:
    """Safe, SafeProxyFactory and SafeProxy from the pinned npm package."""
    found: dict[str, Artifact] = {}
    for name, relative in SAFE_FILES.items():
        path = project_root / SAFE_ARTIFACTS_DIR / relative
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ConfigError(
                f"the Safe 1.4.1 artifact {path} is missing or unreadable",
                hint="run `bash scripts/setup.sh` (npm ci installs @safe-global/safe-contracts)",
                reference="safe-artifacts-missing",
            ) from None
        found[name] = Artifact(
            contract_name=name,
            source_path=str(data.get("sourceName", relative)),
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            immutable_references={},
            metadata="",
            source_hashes={},
            compiler_version="safe-contracts 1.4.1",
        )
    return found


class SafeInfo(BaseModel):
    address: str
    is_contract: bool
    threshold: int | None = None
    owners: list[str] = []
    version: str | None = None


# a read refused or unanswered, or an answer that is not Safe-shaped
_NOT_A_SAFE: tuple[type[Exception], ...] = (ChainError, *DECODE_ERRORS)


def inspect_safe(client: ChainClient, address: str) -> SafeInfo:
    """Code, threshold, owners and version of the Safe at `address` (owners None if not a Safe)."""
    address = checksum(address)
    if not has_code(client.code(address)):
        return SafeInfo(address=address, is_contract=False)
    try:
        threshold = decode_result(
            ["uint256"], client.call({"to": address, "data": selector_hex("getThreshold()")})
        )[0]
        owners = decode_result(
            ["address[]"], client.call({"to": address, "data": selector_hex("getOwners()")})
        )[0]
        version = decode_result(
            ["string"], client.call({"to": address, "data": selector_hex("VERSION()")})
        )[0]
    except _NOT_A_SAFE:
        return SafeInfo(address=address, is_contract=True)
    return SafeInfo(
        address=address,
        is_contract=True,
        threshold=int(threshold),
        owners=[checksum(o) for o in owners],
        version=str(version),
    )


def check_safe(chain: str, info: SafeInfo, owners: list[str], threshold: int) -> None:
    """Refuse a Safe that is not a contract or whose owners/threshold differ from the config."""
    where = f"{chain}: the Safe {info.address}"
    hint = "check multisig.safes / multisig.owners / multisig.threshold; no role was granted"
    if not info.is_contract:
        raise PreflightError(f"{where} has no code", hint=hint, reference="safe-not-a-contract")
    if info.threshold is None:
        raise PreflightError(
            f"{where} does not answer getThreshold()/getOwners(): not a Safe",
            hint=hint,
            reference="safe-not-a-safe",
        )
    want = sorted(o.lower() for o in owners)
    have = sorted(o.lower() for o in info.owners)
    if have != want or info.threshold != threshold:
        raise PreflightError(
            f"{where} is {info.threshold}-of-{len(info.owners)} with owners "
            f"{', '.join(info.owners)}; the configuration expects {threshold}-of-{len(owners)} "
            f"with {', '.join(owners)}",
            hint=hint,
            reference="safe-mismatch",
        )


def safe_nonce(client: ChainClient, address: str) -> int:
    """The Safe's nonce: the nonce its next executed transaction must carry."""
    return int(
        decode_result(
            ["uint256"], client.call({"to": checksum(address), "data": selector_hex("nonce()")})
        )[0]
    )
