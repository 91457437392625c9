"""A devnet project handed over to a real Safe 1.4.1, as the Safe tests' fixtures give it
(tests/safe/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.anvil import Anvil
from tests.support.deploy_env import cli


@dataclass
class SafeDevnet:
    node: Anvil
    project: Path
    safe: str
    contracts: dict[str, str]
    base_nonce: int  # the Safe's nonce after handover (the devnet Safe accepted DEFAULT_ADMIN_ROLE)

    def run(self, *args: str, **kwargs: Any) -> Any:
        return cli(self.project, *args, **kwargs)

    def proposals(self) -> Path:
        return self.project / "deployments" / "local" / "safe"
