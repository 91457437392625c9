"""`deploy verify --sources DIR`: the files a block explorer or Sourcify needs to verify each
deployed contract, and the local proof that they reproduce the code on chain.

Per chain and contract, under `DIR/<chain>/<contract>/`:
  standard-input.json   solc's standard-JSON input: exactly the sources the contract's
                        metadata names (OpenZeppelin imports included) and the pinned settings
  metadata.json         the compiler metadata (Sourcify matches its hash in the bytecode)
  sources/<unit>        every source file by its source unit name (Sourcify's layout)
  constructor-args.txt  the ABI-encoded constructor arguments (explorer forms ask for them)

The check Sourcify makes, done here: compile `standard-input.json` *as read back from disk*
and compare the runtime code with the chain's (immutables masked, as `deploy verify` does).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sphinxctl.chains.registry import select_chains, verify_url
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.deploy.journal import Journal, atomic_write
from sphinxctl.deploy.plan import ROLE_CONTRACTS
from sphinxctl.deploy.verify import code_matches
from sphinxctl.errors import ChainError
from sphinxctl.settings import Settings
from sphinxctl.solidity.abi import constructor_types, encode_args
from sphinxctl.solidity.artifacts import Artifact

VERIFY_OUTPUTS = [
    "abi",
    "metadata",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]


class SourceCheck(BaseModel):
    """One contract on one chain: where its files are and whether they reproduce its code."""

    chain: str
    contract: str
    address: str
    directory: str
    compiler_version: str
    ok: bool
    reason: str | None = None
    verify_url: str | None = None


class SourcesReport(BaseModel):
    environment: str
    directory: str
    checks: list[SourceCheck]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def standard_input(root: Path, artifact: Artifact) -> tuple[dict[str, Any], dict[str, str]]:
    """The standard-JSON input that reproduces `artifact`, and its sources by unit name."""
    from sphinxctl.solidity.profile import compiler_settings
    from sphinxctl.solidity.sources import collect

    metadata = json.loads(artifact.metadata)
    units = list(metadata["sources"])
    files = {unit: source.content for unit, source in collect(root, units).items()}
    missing = set(units) - set(files)
    if missing:
        raise ChainError(f"sources of {artifact.contract_name} not found: {sorted(missing)}")
    settings = compiler_settings()
    settings["outputSelection"] = {"*": {"*": VERIFY_OUTPUTS}}
    document = {
        "language": "Solidity",
        "sources": {unit: {"content": files[unit]} for unit in units},
        "settings": settings,
    }
    return document, files


def _write_bundle(
    directory: Path, document: dict[str, Any], metadata: str, files: dict[str, str], args: str
) -> Path:
    atomic_write(directory / "standard-input.json", json.dumps(document, indent=2) + "\n")
    atomic_write(directory / "metadata.json", metadata)
    for unit, content in files.items():
        atomic_write(directory / "sources" / unit, content)
    atomic_write(directory / "constructor-args.txt", args + "\n")
    return directory / "standard-input.json"


def _recompiled(root: Path, input_file: Path, artifact: Artifact) -> Artifact:
    """Compile the input file as written and return the contract's artifact from it."""
    from sphinxctl.solidity.backend import run_standard_json, select_backend

    document = json.loads(input_file.read_text(encoding="utf-8"))
    output = run_standard_json(select_backend(root), document, root)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    compiled = output.get("contracts", {}).get(artifact.source_path, {}).get(artifact.contract_name)
    if errors or compiled is None:
        detail = errors[0].get("formattedMessage", "") if errors else "contract missing"
        raise ChainError(f"recompiling {input_file} failed: {detail[:300]}")
    evm = compiled["evm"]["deployedBytecode"]
    return artifact.model_copy(
        update={
            "deployed_bytecode": "0x" + evm["object"],
            "immutable_references": evm.get("immutableReferences", {}),
            "metadata": compiled["metadata"],
        }
    )


def write_sources(
    settings: Settings, root: Path, out_dir: Path, chains: list[str] | None = None
) -> SourcesReport:
    """Write every chain's verification files under `out_dir` and check they reproduce the
    runtime code on chain (see the module docstring)."""
    from sphinxctl.chains.registry import explorer_base
    from sphinxctl.solidity.compiler import compile_contracts

    artifacts = compile_contracts(root).artifacts
    journal = Journal.open(root, settings.environment)
    recompiled: dict[str, Artifact] = {}
    checks: list[SourceCheck] = []
    for chain in select_chains(settings, chains):
        jc = journal.chain(chain.name)
        if jc is None:
            continue
        client = ChainClient(chain)
        for name in ROLE_CONTRACTS:
            record = jc.contracts.get(name)
            if record is None:
                continue
            artifact = artifacts[name]
            document, files = standard_input(root, artifact)
            args = "0x" + encode_args(constructor_types(artifact.abi), record.args).hex()
            directory = out_dir / chain.name / name
            input_file = _write_bundle(directory, document, artifact.metadata, files, args)
            if name not in recompiled:
                recompiled[name] = _recompiled(root, input_file, artifact)
            built = recompiled[name]
            ok, reason = code_matches(client.code(record.address), built)
            if ok and built.metadata != artifact.metadata:
                ok, reason = False, "the recompiled metadata differs from the deployed build's"
            checks.append(
                SourceCheck(
                    chain=chain.name,
                    contract=name,
                    address=record.address,
                    directory=str(directory),
                    compiler_version=artifact.compiler_version,
                    ok=ok,
                    reason=reason,
                    verify_url=verify_url(
                        explorer_base(chain, settings.environment), record.address
                    ),
                )
            )
    if not checks:
        raise ChainError(
            f"nothing is deployed in environment {settings.environment!r}",
            hint="run `sphinxctl deploy contracts` first",
            reference="nothing-deployed",
        )
    report = SourcesReport(environment=settings.environment, directory=str(out_dir), checks=checks)
    if not report.ok:
        bad = [f"{c.chain}/{c.contract}: {c.reason}" for c in report.checks if not c.ok]
        raise ChainError(
            "the source files do not reproduce the deployed code: " + "; ".join(bad),
            hint="the contracts changed since deployment? check out the deployed revision",
            reference="sources-mismatch",
            details={"checks": [c.model_dump() for c in report.checks]},
        )
    return report
