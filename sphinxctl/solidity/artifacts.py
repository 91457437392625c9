"""Compiled contract artifacts: the model other packages code against, and their files.

Layout: `build/artifacts/<ContractName>.json` (one `Artifact` each) plus `manifest.json`, which
names the cache key and the files. A build directory is swapped in whole (written to a temporary
sibling, then renamed), so a crash never leaves a manifest pointing at half-written artifacts.
Test-only contracts live in `build/artifacts-test/` with the same layout.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sphinxctl.errors import CompileError
from sphinxctl.solidity.profile import ARTIFACTS_DIR, TEST_ARTIFACTS_DIR

MANIFEST = "manifest.json"
_HINT = "run `sphinxctl contracts compile`"


class Artifact(BaseModel):
    """Everything needed to deploy, call and verify one contract."""

    contract_name: str
    source_path: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    immutable_references: dict[str, list[dict[str, int]]]
    metadata: str
    source_hashes: dict[str, str]
    compiler_version: str


class BuildManifest(BaseModel):
    """What a build directory holds and which inputs produced it."""

    cache_key: str
    compiler: str
    compiler_version: str
    evm_version: str
    optimizer_runs: int
    sources: dict[str, str]
    contracts: dict[str, str]


def read_manifest(directory: Path) -> BuildManifest | None:
    """The manifest of a build directory, or None when absent or unreadable."""
    try:
        return BuildManifest.model_validate_json((directory / MANIFEST).read_bytes())
    except (OSError, ValidationError):
        return None


def read_artifacts(directory: Path, manifest: BuildManifest) -> dict[str, Artifact]:
    """Load every artifact a manifest lists (CompileError when one is missing or corrupt)."""
    artifacts: dict[str, Artifact] = {}
    for name, filename in manifest.contracts.items():
        try:
            artifacts[name] = Artifact.model_validate_json((directory / filename).read_bytes())
        except (OSError, ValidationError) as exc:
            raise CompileError(
                f"artifact {directory / filename} is missing or corrupt ({type(exc).__name__})",
                hint=f"{_HINT} --force",
            ) from None
    return artifacts


def write_build(directory: Path, artifacts: dict[str, Artifact], manifest: BuildManifest) -> None:
    """Replace `directory` with one holding `artifacts` and `manifest`, atomically."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, artifact in artifacts.items():
            (staging / manifest.contracts[name]).write_text(
                artifact.model_dump_json(indent=2), encoding="utf-8"
            )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        old = directory.with_name(f".{directory.name}.old.{uuid.uuid4().hex}")
        for attempt in range(5):  # another process may install its build between our renames
            try:
                if directory.exists():
                    os.replace(directory, old)
                os.replace(staging, directory)
                break
            except OSError:
                if attempt == 4:
                    raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_artifacts(root: Path, *, include_tests: bool = False) -> dict[str, Artifact]:
    """The artifacts of the last compile under `root/build/` (test mocks too when asked)."""
    directories = [root / ARTIFACTS_DIR] + ([root / TEST_ARTIFACTS_DIR] if include_tests else [])
    artifacts: dict[str, Artifact] = {}
    for directory in directories:
        manifest = read_manifest(directory)
        if manifest is None:
            raise CompileError(f"no compiled contracts in {directory}", hint=_HINT)
        artifacts.update(read_artifacts(directory, manifest))
    return artifacts
