"""Anvil dev accounts and throw-away project directories for the deployment tests.

A test project is a temporary directory laid out like the repository: `environments/local.yaml`
(derived from the real one, pointed at free ports, with per-test overrides), symlinks to
`contracts/` and `node_modules/`, and a copy of a compiled `build/` (so the compiler cache hits).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support.anvil import Anvil, rpc
from tests.support.ports import free_port

__all__ = ["Anvil", "free_port", "rpc"]  # re-exported: the deploy tests import them from here

ROOT = Path(__file__).resolve().parents[2]
MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_IDS = {"ethereum": 1, "polygon": 137, "arbitrum": 42161}


def dev_key(index: int) -> str:
    """Private key of anvil's dev account `index` (the public test mnemonic)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return "0x" + bytes(account.key).hex()


def dev_address(index: int) -> str:
    from eth_account import Account

    return str(Account.from_key(dev_key(index)).address)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def compiled_template(directory: Path) -> Path:
    """A project with compiled contracts (reusing the repository's build when it is current)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("contracts", "node_modules"):
        link = directory / name
        if not link.exists():
            link.symlink_to(ROOT / name)
    if (ROOT / "build" / "artifacts").is_dir() and not (directory / "build" / "artifacts").exists():
        shutil.copytree(ROOT / "build" / "artifacts", directory / "build" / "artifacts")
    from sphinxctl.solidity.compiler import compile_contracts

    compile_contracts(directory)
    return directory


def make_project(
    directory: Path,
    template: Path,
    chains: Mapping[str, str | int],
    overrides: dict[str, Any] | None = None,
    environment: str = "local",
) -> Path:
    """A project whose `environment` has `chains` (name -> RPC URL, or a devnet port)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("contracts", "node_modules"):
        (directory / name).symlink_to(ROOT / name)
    for part in ("artifacts", "solc-shim"):  # the compiler cache hits, no node start-up
        if (template / "build" / part).is_dir():
            shutil.copytree(template / "build" / part, directory / "build" / part)
    config = yaml.safe_load((ROOT / "environments" / "local.yaml").read_text())
    base_chains = config["chains"]
    config["chains"] = {}
    for name, where in chains.items():
        chain = dict(base_chains[name])
        if isinstance(where, int):
            chain["devnet_port"] = where
            chain["rpc_urls"] = [f"http://127.0.0.1:{where}"]
        else:
            chain.pop("devnet_port", None)
            chain["rpc_urls"] = [where]
        chain["rpc_timeout_seconds"] = 3
        config["chains"][name] = chain
    config["environment"] = environment
    if environment != "local":
        config["contracts"]["deploy_local_token"] = False
    config = deep_merge(config, overrides or {})
    (directory / "environments").mkdir()
    (directory / "environments" / f"{environment}.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False)
    )
    return directory


def journal(project: Path, env: str = "local") -> dict[str, Any]:
    return dict(json.loads((project / "deployments" / f"{env}.json").read_text()))


def assert_one_instance_each(project: Path, anvils: dict[str, Anvil], deployer: str) -> None:
    """Deployer nonce == journaled transactions, every journaled contract has code, and no
    contract was created twice (each deploy intent appears once among mined transactions)."""
    data = journal(project)
    for name, node in anvils.items():
        section = data["chains"][name]
        txs = section["transactions"]
        assert node.nonce(deployer) == len(txs), (name, node.nonce(deployer), len(txs))
        assert [tx["nonce"] for tx in txs] == list(range(len(txs)))
        assert all(tx["status"] in ("mined", "confirmed", "reconciled") for tx in txs), txs
        deploys = [tx["contract"] for tx in txs if tx["kind"] == "deploy"]
        assert len(deploys) == len(set(deploys)), deploys
        for contract in section["contracts"].values():
            assert node.code(contract["address"]) not in ("0x", "")


_TEMPLATE: list[Path] = []


def shared_template() -> Path:
    """One compiled template project per test process (removed at exit)."""
    if not _TEMPLATE:
        import atexit
        import tempfile

        directory = Path(tempfile.mkdtemp(prefix="sphinx-deploy-template-"))
        atexit.register(shutil.rmtree, directory, True)
        _TEMPLATE.append(compiled_template(directory / "project"))
    return _TEMPLATE[0]


def cli(project: Path, *args: str, environment: str = "local", **kwargs: Any) -> Any:
    """Invoke sphinxctl in-process against a test project (typer's CliRunner)."""
    from typer.testing import CliRunner

    from sphinxctl.cli.app import app

    command = ["--config-dir", str(project / "environments"), "-e", environment, *args]
    return CliRunner().invoke(app, command, **kwargs)
