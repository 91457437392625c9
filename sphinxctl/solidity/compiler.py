"""Compile the contracts into `build/`, reusing the previous build when nothing changed.

Two compilation units: the platform's contracts (`contracts/`, minus `contracts/test/`) into
`build/artifacts/`, and, when asked, the test mocks (`contracts/test/`) into
`build/artifacts-test/`. Each unit's cache key hashes the compiler version, the compiler
settings and every source solc sees (imported OpenZeppelin files included).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sphinxctl.errors import CompileError
from sphinxctl.solidity.artifacts import (
    Artifact,
    BuildManifest,
    read_artifacts,
    read_manifest,
    write_build,
)
from sphinxctl.solidity.backend import Backend, run_standard_json, select_backend
from sphinxctl.solidity.profile import (
    ARTIFACTS_DIR,
    CONTRACTS_DIR,
    EVM_VERSION,
    OPTIMIZER_RUNS,
    TEST_ARTIFACTS_DIR,
    TEST_CONTRACTS_DIR,
    compiler_settings,
)
from sphinxctl.solidity.sources import SourceFile, collect, discover

Events = Callable[[str], None]


class CompileResult(BaseModel):
    """Artifacts by contract name, whether they all came from the cache, and how long it took."""

    artifacts: dict[str, Artifact]
    cached: bool
    seconds: float
    compiler: str


class _Unit(BaseModel):
    label: str
    directory: str
    exclude: tuple[str, ...]
    output_dir: str


def _units(include_tests: bool) -> list[_Unit]:
    units = [
        _Unit(
            label="contracts",
            directory=CONTRACTS_DIR,
            exclude=(TEST_CONTRACTS_DIR,),
            output_dir=ARTIFACTS_DIR,
        )
    ]
    if include_tests:
        units.append(
            _Unit(
                label="test contracts",
                directory=TEST_CONTRACTS_DIR,
                exclude=(),
                output_dir=TEST_ARTIFACTS_DIR,
            )
        )
    return units


def cache_key(
    sources: dict[str, SourceFile], settings: dict[str, Any], compiler_version: str
) -> str:
    """Hash of compiler version, settings and (name, content digest) of every source."""
    digest = hashlib.sha256()
    digest.update(compiler_version.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for unit, source in sorted(sources.items()):
        digest.update(f"\0{unit}\0{source.sha256}".encode())
    return digest.hexdigest()


def _line_col(content: str, offset: int) -> tuple[int, int]:
    line = content.count("\n", 0, offset) + 1
    return line, offset - (content.rfind("\n", 0, offset) + 1) + 1


def describe_diagnostic(diagnostic: dict[str, Any], sources: dict[str, SourceFile]) -> str:
    """`file:line:col: Type: message` for one solc diagnostic."""
    kind = diagnostic.get("type", "Error")
    message = str(diagnostic.get("message", "")).strip()
    location = diagnostic.get("sourceLocation") or {}
    unit = location.get("file")
    if not unit:
        return f"{kind}: {message}"
    source = sources.get(unit)
    start = int(location.get("start", -1))
    if source is None or start < 0:
        return f"{unit}: {kind}: {message}"
    line, col = _line_col(source.content, start)
    return f"{unit}:{line}:{col}: {kind}: {message}"


def _raise_on_errors(
    output: dict[str, Any], sources: dict[str, SourceFile], on_event: Events
) -> None:
    errors = []
    for diagnostic in output.get("errors", []):
        text = describe_diagnostic(diagnostic, sources)
        if diagnostic.get("severity") == "error":
            errors.append(text)
        else:
            on_event(f"{diagnostic.get('severity', 'warning')}: {text}")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CompileError(
            f"{errors[0]}{more}",
            hint="fix the Solidity source named above, then compile again",
            details={"errors": errors},
        )


def _artifacts_from(output: dict[str, Any], wanted: list[str]) -> dict[str, Artifact]:
    artifacts: dict[str, Artifact] = {}
    for unit in wanted:
        for name, data in output.get("contracts", {}).get(unit, {}).items():
            if name in artifacts:
                raise CompileError(
                    f"contract name {name} is defined in both "
                    f"{artifacts[name].source_path} and {unit}",
                    hint="contract names must be unique: artifacts are stored by name",
                )
            metadata = json.loads(data["metadata"])
            artifacts[name] = Artifact(
                contract_name=name,
                source_path=unit,
                abi=data["abi"],
                bytecode="0x" + data["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
                immutable_references=data["evm"]["deployedBytecode"].get("immutableReferences", {}),
                metadata=data["metadata"],
                source_hashes={k: v["keccak256"] for k, v in metadata["sources"].items()},
                compiler_version=metadata["compiler"]["version"],
            )
    return artifacts


def _compile_unit(
    root: Path, unit: _Unit, backend: Backend, force: bool, on_event: Events
) -> tuple[dict[str, Artifact], bool, str]:
    wanted = discover(root, unit.directory, unit.exclude)
    sources = collect(root, wanted)
    settings = compiler_settings()
    key = cache_key(sources, settings, backend.version)
    out_dir = root / unit.output_dir
    manifest = read_manifest(out_dir)
    if not force and manifest is not None and manifest.cache_key == key:
        on_event(f"{unit.label}: unchanged, reusing {unit.output_dir}/")
        return read_artifacts(out_dir, manifest), True, manifest.compiler
    on_event(
        f"{unit.label}: compiling {len(wanted)} files ({len(sources)} with imports) "
        f"with {backend.description}"
    )
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": source.content} for name, source in sources.items()},
        "settings": settings,
    }
    output = run_standard_json(backend, standard_input, root)
    _raise_on_errors(output, sources, on_event)
    artifacts = _artifacts_from(output, wanted)
    manifest = BuildManifest(
        cache_key=key,
        compiler=backend.description,
        compiler_version=backend.version,
        evm_version=EVM_VERSION,
        optimizer_runs=OPTIMIZER_RUNS,
        sources={name: source.sha256 for name, source in sources.items()},
        contracts={name: f"{name}.json" for name in sorted(artifacts)},
    )
    write_build(out_dir, artifacts, manifest)
    on_event(f"{unit.label}: wrote {len(artifacts)} artifacts to {unit.output_dir}/")
    return artifacts, False, backend.description


def compile_contracts(
    root: Path,
    *,
    force: bool = False,
    include_tests: bool = False,
    on_event: Callable[[str], None] | None = None,
    backend: Backend | None = None,
) -> CompileResult:
    """Compile (or reuse) the contracts under `root/contracts`; see the module docstring."""
    started = time.perf_counter()
    root = root.resolve()
    events: Events = on_event or (lambda _message: None)
    backend = backend or select_backend(root)
    artifacts: dict[str, Artifact] = {}
    all_cached = True
    compilers: list[str] = []
    for unit in _units(include_tests):
        unit_artifacts, cached, compiler = _compile_unit(root, unit, backend, force, events)
        clash = artifacts.keys() & unit_artifacts.keys()
        if clash:
            raise CompileError(f"test contracts reuse production names: {', '.join(sorted(clash))}")
        artifacts.update(unit_artifacts)
        all_cached = all_cached and cached
        if compiler not in compilers:
            compilers.append(compiler)
    return CompileResult(
        artifacts=artifacts,
        cached=all_cached,
        seconds=time.perf_counter() - started,
        compiler="; ".join(compilers),
    )
