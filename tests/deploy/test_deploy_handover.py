"""Handover to a real Safe 1.4.1 (deployed on anvil from the npm artifacts, 2-of-3 owners):
afterwards the deployer holds no role, and an admin action succeeds only as a Safe transaction
signed by two owners. Killed mid-handover, a rerun finishes it."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sphinxctl.solidity.abi import decode_result, encode_call, role_id, selector_hex
from tests.support.deploy_env import (
    Anvil,
    assert_one_instance_each,
    cli,
    dev_address,
    dev_key,
    journal,
    make_project,
    shared_template,
)

pytestmark = pytest.mark.integration
DEPLOYER = dev_address(0)
OWNERS = [3, 4, 5]  # multisig.owners in environments/local.yaml are anvil accounts 3, 4, 5
ROLES = ("DEFAULT_ADMIN_ROLE", "ADMIN_ROLE", "OPERATOR_ROLE", "MINTER_ROLE")
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    started = Anvil(1)
    yield started
    started.stop()


@pytest.fixture
def deployed(
    node: Anvil, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> Iterator[tuple[Anvil, Path]]:
    snapshot = node.snapshot()
    project = make_project(tmp_path / "project", shared_template(), {"ethereum": node.url})
    result = cli(project, "deploy", "contracts", "--yes")
    assert result.exit_code == 0, result.output
    yield node, project
    node.revert(snapshot)


def _call(node: Anvil, to: str, data: str, sender: str = ZERO) -> str:
    return str(node.call("eth_call", {"from": sender, "to": to, "data": data}, "latest"))


def _has_role(node: Anvil, contract: str, role: str, account: str) -> bool:
    data = encode_call("hasRole(bytes32,address)", [role_id(role), account])
    return int(_call(node, contract, data), 16) == 1


def _safe_exec_data(node: Anvil, safe: str, to: str, data: str, signers: list[int]) -> str:
    """execTransaction calldata for a call signed (eth_sign-less, raw ECDSA) by `signers`."""
    from eth_account import Account

    nonce = decode_result(["uint256"], _call(node, safe, selector_hex("nonce()")))[0]
    fields: list[Any] = [to, 0, bytes.fromhex(data[2:]), 0, 0, 0, 0, ZERO, ZERO]
    tx_hash = _call(
        node,
        safe,
        encode_call(
            "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)",
            [*fields, nonce],
        ),
    )
    signatures = b""
    for index in sorted(signers, key=lambda i: int(dev_address(i), 16)):
        signed = Account.unsafe_sign_hash(bytes.fromhex(tx_hash[2:]), dev_key(index))
        signatures += (
            signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
        )
    return encode_call(
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
        [*fields, signatures],
    )


def _send(node: Anvil, sender: str, to: str, data: str) -> dict[str, Any]:
    tx_hash = node.call(
        "eth_sendTransaction", {"from": sender, "to": to, "data": data, "gas": hex(500_000)}
    )
    for _ in range(200):  # automine includes it at once; the receipt may lag a moment
        receipt = node.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return dict(receipt)
        time.sleep(0.02)
    raise AssertionError(f"{tx_hash} was not mined")


def test_handover_to_a_2_of_3_safe_leaves_the_deployer_no_role(
    deployed: tuple[Anvil, Path],
) -> None:
    node, project = deployed
    result = cli(project, "deploy", "handover", "--to-safe", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # Safe (3), per contract: grant ADMIN_ROLE, begin the admin transfer, renounce ADMIN_ROLE;
    # the Safe's owners then accept DEFAULT_ADMIN_ROLE (devnet: public anvil keys).
    assert report["sent"] == 9 and report["deployer_roles_left"] == []
    section = journal(project)["chains"]["ethereum"]
    safe = section["safe"]["address"]
    assert section["handed_over"] is True and section["safe"]["deployed_by_sphinxctl"] is True
    contracts = {name: c["address"] for name, c in section["contracts"].items()}
    for name in ("SphinxYieldAggregator", "SpaceFlightNFT"):
        for role in ROLES:
            assert not _has_role(node, contracts[name], role, DEPLOYER), (name, role)
        for role in ("DEFAULT_ADMIN_ROLE", "ADMIN_ROLE"):
            assert _has_role(node, contracts[name], role, safe)
    graph = {
        (g["contract"], role): holders
        for g in report["roles"]
        for role, holders in g["roles"].items()
    }
    assert graph[("SpaceFlightNFT", "ADMIN_ROLE")] == [safe]
    assert all(DEPLOYER not in holders for holders in graph.values())
    assert_one_instance_each(project, {"ethereum": node}, DEPLOYER)

    # An admin action: the deployer cannot, one owner cannot, two owners through the Safe can.
    nft = contracts["SpaceFlightNFT"]
    pause = selector_hex("pause()")
    with pytest.raises(RuntimeError, match="execution reverted"):
        _call(node, nft, pause, sender=DEPLOYER)
    one = _safe_exec_data(node, safe, nft, pause, [3])
    with pytest.raises(RuntimeError, match="GS020"):
        _call(node, safe, one, sender=dev_address(3))
    two = _safe_exec_data(node, safe, nft, pause, [3, 5])
    receipt = _send(node, dev_address(4), safe, two)
    assert int(receipt["status"], 16) == 1
    assert int(_call(node, nft, selector_hex("paused()")), 16) == 1

    again = cli(project, "deploy", "handover", "--to-safe", "--yes", "-o", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["sent"] == 0, again.output
    verify = cli(project, "deploy", "verify", "-o", "json")
    assert verify.exit_code == 0, verify.output
    checked = {c["contract"] for c in json.loads(verify.stdout)["checks"]}
    assert {"SafeSingleton", "SafeProxyFactory", "Safe"} <= checked

    # A Safe that does not match the configuration is refused before anything is signed.
    config_path = project / "environments" / "local.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["multisig"]["safes"] = {"ethereum": safe}
    config["multisig"]["threshold"] = 3
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    nonce = node.nonce(DEPLOYER)
    refused = cli(project, "deploy", "handover", "--to-safe", "--yes")
    assert refused.exit_code == 4, refused.output
    assert "safe-mismatch" in refused.output and "2-of-3" in refused.output
    assert node.nonce(DEPLOYER) == nonce


@pytest.mark.parametrize("crash_at", ["broadcast:3", "checked:1", "journaled:6", "mined:8"])
def test_handover_killed_midway_finishes_on_rerun(
    deployed: tuple[Anvil, Path], crash_at: str
) -> None:
    node, project = deployed
    pid = os.fork()
    if pid == 0:
        code = 98
        try:
            os.environ["SPHINXCTL_TEST_CRASH_AT"] = crash_at
            code = 100 + (cli(project, "deploy", "handover", "--to-safe", "--yes").exit_code or 0)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    result = cli(project, "deploy", "handover", "--to-safe", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deployer_roles_left"] == []
    assert_one_instance_each(project, {"ethereum": node}, DEPLOYER)
    assert node.nonce(DEPLOYER) == 7 + 9
