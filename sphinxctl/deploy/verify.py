"""Bytecode verification: the runtime code on chain against the artifact's deployed bytecode,
with immutable references masked (their values are only known after the constructor ran)."""

from __future__ import annotations

from sphinxctl.chains.reads import has_code
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.deploy.journal import ChainJournal
from sphinxctl.deploy.models import ContractCheck
from sphinxctl.deploy.safe import RECORDED_AS
from sphinxctl.solidity.artifacts import Artifact


def _bytes(code: str) -> bytes:
    return bytes.fromhex(code[2:] if code.startswith("0x") else code)


def masked(code: bytes, immutable_references: dict[str, list[dict[str, int]]]) -> bytes:
    out = bytearray(code)
    for ranges in immutable_references.values():
        for ref in ranges:
            start, length = int(ref["start"]), int(ref["length"])
            out[start : start + length] = bytes(length)
    return bytes(out)


def code_matches(onchain: str, artifact: Artifact) -> tuple[bool, str | None]:
    """(match, reason when not)."""
    have, want = _bytes(onchain), _bytes(artifact.deployed_bytecode)
    if not have:
        return False, "no code at the address"
    if len(have) != len(want):
        return False, f"code size {len(have)} bytes, the artifact has {len(want)}"
    refs = artifact.immutable_references
    have_m, want_m = masked(have, refs), masked(want, refs)
    if have_m != want_m:
        first = next(i for i, (a, b) in enumerate(zip(have_m, want_m, strict=True)) if a != b)
        return False, f"code differs from the artifact at byte {first}"
    return True, None


def identify(onchain: str, artifacts: dict[str, Artifact]) -> str | None:
    """The artifact whose deployed bytecode the code matches, if any."""
    for name, artifact in artifacts.items():
        if has_code(artifact.deployed_bytecode) and code_matches(onchain, artifact)[0]:
            return name
    return None


def verify_chain(
    client: ChainClient, jc: ChainJournal, artifacts: dict[str, Artifact]
) -> list[ContractCheck]:
    checks = []
    reason: str | None
    for name, contract in jc.contracts.items():
        artifact = artifacts.get(RECORDED_AS.get(name, name)) or artifacts.get(name)
        if artifact is None:
            ok, reason, size = False, "no artifact of that name (was it renamed?)", 0
        else:
            code = client.code(contract.address)
            ok, reason = code_matches(code, artifact)
            size = len(_bytes(code))
        checks.append(
            ContractCheck(
                chain=client.name,
                contract=name,
                address=contract.address,
                ok=ok,
                reason=reason,
                code_bytes=size,
                explorer_url=contract.explorer_url,
            )
        )
    return checks
