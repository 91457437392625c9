"""What the API pod reads besides its environment file: the deployment record, the ABIs.

`serve` looks for `<root>/deployments/<env>.json` and `<root>/build/artifacts/` next to its
config directory; in the pod both come from ConfigMaps generated here at render time, so a
new deployment or a recompile changes the pod template's checksum and rolls the pods. The
artifacts keep their ABI only (bytecode and metadata are for deploy and verify, not `serve`),
which keeps the ConfigMap far below the 1 MiB object limit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from sphinxctl.infra.secret_values import SecretValue

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

POD_ROOT = "/etc/sphinx"
DEPLOYMENTS_IN_POD = f"{POD_ROOT}/deployments"
ARTIFACTS_IN_POD = f"{POD_ROOT}/build/artifacts"
SIGNER_ENV = "SPHINX_API_SIGNER_KEY"
MINTER_ENV = "SPHINX_API_MINTER_KEY"


def deployment_files(project_root: Path | None, environment: str) -> dict[str, str]:
    """`<env>.json` -> the deployment record's text (empty when nothing is deployed)."""
    if project_root is None:
        return {}
    path = project_root / "deployments" / f"{environment}.json"
    return {path.name: path.read_text(encoding="utf-8")} if path.is_file() else {}


def artifact_files(project_root: Path | None) -> dict[str, str]:
    """manifest.json and one ABI-only artifact per contract of the last compile."""
    if project_root is None:
        return {}
    directory = project_root / "build" / "artifacts"
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        return {}
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = {"manifest.json": json.dumps(manifest, indent=1, sort_keys=True)}
    for filename in sorted(set(manifest.get("contracts", {}).values())):
        artifact = json.loads((directory / filename).read_text(encoding="utf-8"))
        artifact.update(bytecode="", deployed_bytecode="", metadata="", immutable_references={})
        files[filename] = json.dumps(artifact, sort_keys=True, separators=(",", ":"))
    return files


def checksum(*parts: dict[str, str]) -> str:
    """One digest over every file the pod reads at start (rolls the pods when any changes)."""
    digest = hashlib.sha256()
    for part in parts:
        for name in sorted(part):
            digest.update(name.encode() + b"\0" + part[name].encode() + b"\0")
    return digest.hexdigest()


def signing_keys(settings: Settings) -> dict[str, SecretValue]:
    """The Secret env vars holding the keys the API signs with in this environment.

    The signer (pause/unpause, rarity publish) is `api.signer_key`; on the local devnet the
    deployer's key stands in when it is unset, as it does for `serve` on a workstation. A
    testnet or mainnet pod never gets the deployer's key: the admin roles belong to the Safe,
    and the pod holds at most a guardian key (pause) and the minter key (docs/POD_CONTRACT.md).
    """
    keys: dict[str, SecretValue] = {}
    if settings.api.signer_key is not None:
        keys[SIGNER_ENV] = SecretValue("api.signer_key")
    elif settings.environment == "local" and settings.deployer.private_key is not None:
        keys[SIGNER_ENV] = SecretValue("deployer.private_key")
    if settings.api.minter_key is not None:
        keys[MINTER_ENV] = SecretValue("api.minter_key")
    return keys
