"""`sphinxctl devnet up|down|status`: real anvil nodes on the configured ports, pids and logs
under the state directory, idempotent, state kept across a clean restart."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.support.deploy_env import CHAIN_IDS, cli, free_port, make_project, rpc, shared_template

pytestmark = pytest.mark.integration


def test_devnet_lifecycle_keeps_state_across_a_clean_restart(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    ports = {name: free_port() for name in CHAIN_IDS}
    project = make_project(tmp_path / "project", shared_template(), ports)
    try:
        up = cli(project, "devnet", "up", "-o", "json")
        assert up.exit_code == 0, up.output
        nodes = json.loads(up.stdout)["nodes"]
        assert [(n["chain"], n["chain_id"], n["port"]) for n in nodes] == [
            (name, CHAIN_IDS[name], ports[name]) for name in CHAIN_IDS
        ]
        assert all(n["running"] and n["managed"] and n["pid"] for n in nodes)
        state = project / ".sphinxctl" / "devnet"
        assert {p.name for p in state.iterdir()} >= {
            f"{n}.{s}" for n in CHAIN_IDS for s in ("pid", "log")
        }
        url = f"http://127.0.0.1:{ports['polygon']}"
        rpc(url, "evm_mine")
        rpc(url, "evm_mine")

        down = cli(project, "devnet", "down", "-o", "json")
        assert down.exit_code == 0, down.output
        assert not any(n["running"] for n in json.loads(down.stdout)["nodes"])
        for node in nodes:
            with pytest.raises(ProcessLookupError):
                os.kill(node["pid"], 0)
        assert (state / "polygon.json").stat().st_size > 0  # anvil saved its state

        again = cli(project, "devnet", "up")
        assert again.exit_code == 0, again.output
        assert int(rpc(url, "eth_blockNumber"), 16) == 2
        status = cli(project, "devnet", "status")
        assert status.exit_code == 0 and "running" in status.output
    finally:
        cli(project, "devnet", "down", "--wipe")
    assert not (project / ".sphinxctl" / "devnet" / "polygon.json").exists()


def test_a_port_taken_by_something_else_is_reported(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        project = make_project(tmp_path / "project", shared_template(), {"ethereum": port})
        result = cli(project, "devnet", "up")
    assert result.exit_code == 4, result.output
    assert "[devnet-port-busy]" in result.output and str(port) in result.output


def test_a_missing_anvil_binary_is_a_clear_error(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project", shared_template(), {"ethereum": free_port()})
    (project / "node_modules").unlink()
    (project / "node_modules").mkdir()
    result = cli(project, "devnet", "up")
    assert result.exit_code == 2, result.output
    assert "[anvil-missing]" in result.output and "setup.sh" in result.output
