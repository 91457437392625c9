"""A fully deployed and handed-over devnet project for the chain and contract items.

Three real anvil nodes (chain ids 1, 137, 42161) on free ports; the platform deployed with
`deploy_contracts` and handed over to a Safe 1.4.1 with `handover_to_safe` (the deploy
engineer's domain functions, not a re-implementation); the SQLite store migrated with a few
audit events; the real API app served over HTTP; Redis the shared test server. Tests break one
condition, run the checklist, and put the condition back (anvil snapshots, config restored).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.support.checks_env import ROOT, make_project
from tests.support.deploy_env import Anvil, rpc

CHAIN_IDS = {"ethereum": 1, "polygon": 137, "arbitrum": 42161}


def slither_report(project: Path) -> None:
    """Keep project/build/slither when it is current for the project's sources, else run
    Slither for real (a fresh clone has no report yet)."""
    import json

    from sphinxctl.solidity.analysis import run_slither, slither_input

    found = project / "build" / "slither"
    try:
        current = json.loads((found / "input.json").read_text()) == slither_input(project)
        current = current and (found / "report.json").is_file()
    except (OSError, ValueError):
        current = False
    if not current:
        (project / ".venv-tools").symlink_to(ROOT / ".venv-tools")
        run_slither(project)


class CheckedDevnet:
    """The deployed project, its nodes and the helpers tests use to break things."""

    def __init__(self, base: Path, redis_url: str, snapshot: Path) -> None:
        self.anvils = {name: Anvil(chain_id) for name, chain_id in CHAIN_IDS.items()}
        self.root = make_project(base / "project", None)
        (self.root / "contracts").unlink()  # copies: tests edit SLITHER_TRIAGE.md and build/
        shutil.copytree(snapshot / "contracts", self.root / "contracts")
        shutil.copytree(snapshot / "build", self.root / "build", symlinks=True)
        slither_report(self.root)
        self.config_file = self.root / "environments" / "local.yaml"
        config = yaml.safe_load(self.config_file.read_text())
        for name, node in self.anvils.items():
            config["chains"][name].update(devnet_port=node.port, rpc_urls=[node.url])
        config["redis"]["url"] = redis_url
        self.write(config)
        self.api: Any = None

    def write(self, config: dict[str, Any]) -> None:
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    @property
    def config(self) -> dict[str, Any]:
        return dict(yaml.safe_load(self.config_file.read_text()))

    @contextmanager
    def edited(self, change: Any) -> Iterator[None]:
        """The environment file changed by `change(config)` for the duration of the block."""
        original = self.config_file.read_text()
        config = self.config
        change(config)
        self.write(config)
        try:
            yield
        finally:
            self.config_file.write_text(original)

    def settings(self) -> Any:
        from sphinxctl.settings import load_settings

        return load_settings("local", self.root / "environments").settings

    def deploy(self) -> None:
        from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts
        from sphinxctl.deploy.handover import handover_to_safe
        from sphinxctl.store import Store

        settings = self.settings()
        request = DeployRequest(project_root=self.root)
        deploy_contracts(settings, request, confirm=lambda _preview: True)
        handover_to_safe(settings, request, confirm=lambda _preview: True)
        with Store.from_settings(settings, self.root) as store:
            store.migrate()
            for n in range(3):
                store.append_audit("ops", "admin", "deploy", f"ethereum:step{n}", {"n": n})

    def serve_api(self) -> None:
        from sphinxctl.api import create_app
        from tests.support.api_env import LiveServer

        app = create_app(self.settings(), self.root, poll_interval=30.0)
        self.api = LiveServer(app).__enter__()
        config = self.config
        config["api"]["base_url"] = self.api.url
        self.write(config)

    def address(self, chain: str, contract: str) -> str:
        from sphinxctl.deploy.records import load_record

        record = load_record(self.root, "local")
        assert record is not None
        found = record.address_of(chain, contract)
        assert found is not None, (chain, contract)
        return found

    def safe(self, chain: str) -> str:
        from sphinxctl.deploy.records import load_record

        record = load_record(self.root, "local")
        assert record is not None and record.chains[chain].safe_address
        return str(record.chains[chain].safe_address)

    def call(self, chain: str, method: str, *params: Any) -> Any:
        return rpc(self.anvils[chain].url, method, list(params))

    @contextmanager
    def reverted(self) -> Iterator[None]:
        """Every chain goes back to its state before the block."""
        ids = {name: node.snapshot() for name, node in self.anvils.items()}
        try:
            yield
        finally:
            for name, snapshot in ids.items():
                self.anvils[name].revert(snapshot)

    def send_as(self, chain: str, sender: str, to: str, signature: str, *args: Any) -> None:
        """A transaction from any account (anvil impersonation), e.g. from the Safe itself."""
        from sphinxctl.solidity.abi import encode_call

        self.call(chain, "anvil_impersonateAccount", sender)
        self.call(chain, "anvil_setBalance", sender, hex(10**18))
        tx = {"from": sender, "to": to, "data": encode_call(signature, list(args))}
        tx_hash = self.call(chain, "eth_sendTransaction", tx)
        deadline = time.monotonic() + 20
        while (receipt := self.call(chain, "eth_getTransactionReceipt", tx_hash)) is None:
            assert time.monotonic() < deadline, f"{signature}: no receipt"  # automine lags
            time.sleep(0.02)
        self.call(chain, "anvil_stopImpersonatingAccount", sender)
        assert receipt["status"] == "0x1", (signature, receipt)

    def stop(self) -> None:
        if self.api is not None:
            self.api.__exit__(None, None, None)
        for node in self.anvils.values():
            node.stop()
