"""A devnet chain with the contracts deployed and handed over to a real Safe 1.4.1 (2-of-3,
owners anvil accounts 3, 4, 5 as in environments/local.yaml), once per module; each test
starts from a snapshot of that state with no proposal files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.deploy_env import Anvil, cli, dev_key, journal, make_project, shared_template
from tests.support.real_parts import real_part
from tests.support.safe_env import SafeDevnet


@pytest.fixture(scope="module")
@real_part("anvil")
def handed_over(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafeDevnet]:
    node = Anvil(1)
    try:
        project = make_project(
            tmp_path_factory.mktemp("safe") / "project", shared_template(), {"ethereum": node.url}
        )
        for step in (
            ("deploy", "contracts", "--yes"),
            ("deploy", "handover", "--to-safe", "--yes"),
        ):
            result = cli(project, *step)
            assert result.exit_code == 0, result.output
        section = journal(project)["chains"]["ethereum"]
        contracts = {name: c["address"] for name, c in section["contracts"].items()}
        safe = section["safe"]["address"]
        nonce = int(node.call("eth_call", {"to": safe, "data": "0xaffed0e0"}, "latest"), 16)
        yield SafeDevnet(node, project, safe, contracts, nonce)
    finally:
        node.stop()


@pytest.fixture
def devnet(handed_over: SafeDevnet, clean_env: pytest.MonkeyPatch) -> Iterator[SafeDevnet]:
    snapshot = handed_over.node.snapshot()
    for index in (3, 4, 5, 6):
        clean_env.setenv(f"OWNER_{index}", dev_key(index))
    yield handed_over
    handed_over.node.revert(snapshot)
    shutil.rmtree(handed_over.proposals(), ignore_errors=True)
