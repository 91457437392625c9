"""Propose, sign and execute through the real Safe 1.4.1 on anvil, and every refusal of the
issue: each refused with a clear error and nothing sent."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from sphinxctl.safe.model import SafeTx, safe_tx_hash
from sphinxctl.solidity.abi import decode_result, encode_call, selector_hex
from tests.support.deploy_env import dev_address, dev_key
from tests.support.safe_env import SafeDevnet

pytestmark = pytest.mark.integration
VAULT, NFT = "SphinxYieldAggregator", "SpaceFlightNFT"
DEPLOYER = dev_address(0)
GET_HASH = (
    "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,"
    "uint256)"
)


def _read(devnet: SafeDevnet, to: str, signature: str, types: list[str]) -> Any:
    data = devnet.node.call("eth_call", {"to": to, "data": selector_hex(signature)}, "latest")
    return decode_result(types, data)[0]


def _paused(devnet: SafeDevnet, contract: str) -> bool:
    return bool(_read(devnet, devnet.contracts[contract], "paused()", ["bool"]))


def _safe_nonce(devnet: SafeDevnet) -> int:
    return int(_read(devnet, devnet.safe, "nonce()", ["uint256"]))


def _propose(devnet: SafeDevnet, *args: str) -> dict[str, Any]:
    result = devnet.run("safe", "propose", *args, "--chain", "ethereum", "-o", "json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _sign(devnet: SafeDevnet, proposal: str, owner: int, *extra: str) -> Any:
    return devnet.run("safe", "sign", proposal, "--key-env", f"OWNER_{owner}", *extra)


def _execute(devnet: SafeDevnet, proposal: str, *extra: str) -> Any:
    return devnet.run("safe", "execute", proposal, "--yes", "-o", "json", *extra)


def _error(result: Any) -> str:
    return str(result.output)


def test_safe_tx_hash_equals_the_safe_contracts_get_transaction_hash(devnet: SafeDevnet) -> None:
    cases = [
        SafeTx(to=devnet.contracts[VAULT], data=selector_hex("pause()"), nonce=0),
        SafeTx(to=dev_address(7), value=10**18, data="0x", operation=1, nonce=41),
        SafeTx(
            to=devnet.contracts[NFT],
            data=encode_call("setBaseURI(string)", ["ipfs://x"]),
            safe_tx_gas=5,
            base_gas=6,
            gas_price=7,
            gas_token=dev_address(8),
            refund_receiver=dev_address(9),
            nonce=3,
        ),
    ]
    for tx in cases:
        args = [*tx.exec_args(), tx.nonce]
        onchain = devnet.node.call(
            "eth_call", {"to": devnet.safe, "data": encode_call(GET_HASH, args)}, "latest"
        )
        assert safe_tx_hash(tx, 1, devnet.safe) == onchain


def test_propose_pause_two_signatures_execute_pauses_the_vault(devnet: SafeDevnet) -> None:
    proposal = _propose(devnet, "pause", "vault")
    pid = proposal["id"]
    assert proposal["decoded"] == f"{VAULT}.pause()"
    assert proposal["tx"]["operation"] == 0 and proposal["tx"]["nonce"] == devnet.base_nonce
    assert (devnet.proposals() / f"{pid}.json").is_file()

    first = _sign(devnet, pid, 3)
    assert first.exit_code == 0, first.output
    early = _execute(devnet, pid)
    assert early.exit_code == 4 and "safe-threshold-not-met" in _error(early)
    second = _sign(devnet, pid, 5)
    assert second.exit_code == 0, second.output
    status = devnet.run("safe", "status", pid, "-o", "json")
    row = json.loads(status.stdout)[0]
    assert (
        row["state"] == "ready"
        and len(row["signed_by"]) == 2
        and row["safe_nonce"] == devnet.base_nonce
    )

    result = _execute(devnet, pid)
    assert result.exit_code == 0, result.output
    executed = json.loads(result.stdout)
    assert executed["success"] is True
    assert f"{VAULT}.Paused" in executed["events"] and "Safe.ExecutionSuccess" in executed["events"]
    assert _paused(devnet, VAULT) and _safe_nonce(devnet) == devnet.base_nonce + 1

    from sphinxctl.settings import load_settings
    from sphinxctl.store import Store

    settings = load_settings("local", devnet.project / "environments").settings
    with Store.from_settings(settings, devnet.project) as store:
        record = store.get_transaction("ethereum", executed["tx_hash"])
    assert record is not None and (record.kind, record.status) == ("safe_execute", "confirmed")

    # A second execution is refused before anything is sent.
    nonce = devnet.node.nonce(DEPLOYER)
    again = _execute(devnet, pid)
    assert again.exit_code == 4 and "safe-already-executed" in _error(again)
    assert devnet.node.nonce(DEPLOYER) == nonce and _safe_nonce(devnet) == devnet.base_nonce + 1
    row = json.loads(devnet.run("safe", "status", pid, "-o", "json").stdout)[0]
    assert row["state"] == "executed" and row["tx_hash"] == executed["tx_hash"]

    # Keys never land in files or output; the audit trail has the three steps.
    text = (devnet.proposals() / f"{pid}.json").read_text()
    for index in (3, 5):
        assert dev_key(index)[2:] not in text and dev_key(index)[2:] not in first.output
    trail = devnet.run("audit", "list", "-o", "json")
    assert trail.exit_code == 0, trail.output
    actions = [e["action"] for e in json.loads(trail.stdout)["events"]]
    for action in ("safe.propose", "safe.sign", "safe.execute"):
        assert action in actions, actions
    assert dev_key(3)[2:] not in trail.stdout


def test_a_non_owner_signature_is_refused(devnet: SafeDevnet) -> None:
    pid = _propose(devnet, "unpause", "nft")["id"]
    path = devnet.proposals() / f"{pid}.json"
    before = path.read_text()
    for extra in ((), ("--offline",)):
        result = _sign(devnet, pid, 6, *extra)
        assert result.exit_code == 4 and "safe-not-owner" in _error(result), result.output
        assert "is not an owner" in _error(result)
    assert path.read_text() == before


def test_a_file_edited_after_signing_is_refused(devnet: SafeDevnet) -> None:
    pid = _propose(devnet, "pause", "nft")["id"]
    assert _sign(devnet, pid, 3).exit_code == 0
    assert _sign(devnet, pid, 4).exit_code == 0
    path = devnet.proposals() / f"{pid}.json"
    document = json.loads(path.read_text())
    document["tx"]["to"] = devnet.contracts[VAULT]  # same call, another contract
    path.write_text(json.dumps(document))
    nonce = devnet.node.nonce(DEPLOYER)
    for result in (_sign(devnet, pid, 5), _execute(devnet, pid)):
        assert result.exit_code == 4 and "proposal-tampered" in _error(result), result.output
    row = json.loads(devnet.run("safe", "status", pid, "-o", "json").stdout)[0]
    assert row["state"] == "tampered" and "does not match its contents" in row["problems"][0]
    # Re-hashing the edit does not help: the signatures are over the original transaction.
    document["safe_tx_hash"] = safe_tx_hash(SafeTx.model_validate(document["tx"]), 1, devnet.safe)
    path.write_text(json.dumps(document))
    result = _execute(devnet, pid)
    assert result.exit_code == 4 and "is not over this transaction" in _error(result)
    assert devnet.node.nonce(DEPLOYER) == nonce and not _paused(devnet, VAULT)


def test_a_proposal_whose_nonce_another_transaction_used_is_refused(devnet: SafeDevnet) -> None:
    pause = _propose(devnet, "pause", "vault")["id"]
    shutdown = _propose(devnet, "emergency-shutdown")["id"]
    for owner in (3, 4):
        assert _sign(devnet, pause, owner).exit_code == 0
    assert _sign(devnet, shutdown, 3).exit_code == 0
    assert _sign(devnet, shutdown, 5).exit_code == 0
    assert _execute(devnet, pause).exit_code == 0
    nonce = devnet.node.nonce(DEPLOYER)
    for result in (_sign(devnet, shutdown, 4), _execute(devnet, shutdown)):
        assert result.exit_code == 4 and "safe-nonce-used" in _error(result), result.output
        assert "was used by another transaction" in _error(result)
    assert devnet.node.nonce(DEPLOYER) == nonce
    rows = {r["id"]: r for r in json.loads(devnet.run("safe", "status", "-o", "json").stdout)}
    assert rows[shutdown]["state"] == "stale" and rows[pause]["state"] == "executed"


def test_a_delegatecall_needs_the_flag_at_every_step(devnet: SafeDevnet) -> None:
    refused = devnet.run(
        "safe", "propose", "pause", "vault", "--chain", "ethereum", "--delegatecall"
    )
    assert refused.exit_code == 2, refused.output
    proposal = _propose(devnet, "call", "vault", "pause()", "--delegatecall")
    pid = proposal["id"]
    assert proposal["tx"]["operation"] == 1
    result = _sign(devnet, pid, 3)
    assert result.exit_code == 2 and "delegatecall-refused" in _error(result)
    for owner in (3, 4):
        assert _sign(devnet, pid, owner, "--delegatecall").exit_code == 0
    nonce = devnet.node.nonce(DEPLOYER)
    result = _execute(devnet, pid)
    assert result.exit_code == 2 and "delegatecall-refused" in _error(result)
    assert devnet.node.nonce(DEPLOYER) == nonce and _safe_nonce(devnet) == devnet.base_nonce


def test_raw_calls_are_checked_against_the_abi(devnet: SafeDevnet) -> None:
    result = devnet.run(
        "safe", "propose", "call", "nft", "mintEverything(uint256)", "1", "--chain", "ethereum"
    )
    assert result.exit_code == 2 and "abi-no-such-function" in _error(result)
    bad = devnet.run(
        "safe", "propose", "grant-role", "vault", "OPERATOR_ROLE", "0x12", "-c", "ethereum"
    )
    assert bad.exit_code == 2 and "not a valid address" in _error(bad)
    proposal = _propose(devnet, "call", "nft", "setBaseURI(string)", "ipfs://new/")
    assert proposal["decoded"] == f"{NFT}.setBaseURI(newBaseURI=ipfs://new/)"
    grant = _propose(devnet, "grant-role", "vault", "OPERATOR_ROLE", dev_address(7))
    assert grant["description"] == f"grant OPERATOR_ROLE on {VAULT} to {dev_address(7)}"


@pytest.mark.parametrize("crash_at", ["journaled", "broadcast"])
def test_killed_during_execute_then_rerun_executes_once(devnet: SafeDevnet, crash_at: str) -> None:
    pid = _propose(devnet, "pause", "vault")["id"]
    for owner in (4, 5):
        assert _sign(devnet, pid, owner).exit_code == 0
    nonce = devnet.node.nonce(DEPLOYER)
    child = os.fork()
    if child == 0:
        code = 98
        try:
            os.environ["SPHINXCTL_TEST_CRASH_AT"] = crash_at
            code = 100 + (_execute(devnet, pid).exit_code or 0)
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    journaled = json.loads((devnet.proposals() / f"{pid}.json").read_text())["execution"]
    assert journaled["status"] in ("signed", "sent") and journaled["raw"].startswith("0x02")
    result = _execute(devnet, pid)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tx_hash"] == journaled["tx_hash"]
    assert devnet.node.nonce(DEPLOYER) == nonce + 1 and _safe_nonce(devnet) == devnet.base_nonce + 1
    assert _paused(devnet, VAULT)
    again = _execute(devnet, pid)
    assert again.exit_code == 4 and devnet.node.nonce(DEPLOYER) == nonce + 1


def test_keystore_signature_table_output_and_dry_run_send_nothing(
    devnet: SafeDevnet, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from eth_account import Account
    from eth_typing import HexStr

    keystore = tmp_path / "owner4.json"
    keystore.write_text(json.dumps(Account.encrypt(HexStr(dev_key(4)), "owner-four-pass")))
    clean_env.setenv("OWNER_4_PASSWORD", "owner-four-pass")
    shown = devnet.run("safe", "propose", "set-treasury-fee", "300", "--chain", "ethereum")
    assert shown.exit_code == 0, shown.output
    assert "set the vault's treasury fee to 300 bps" in shown.stdout
    assert "setTreasuryFeeBps(newBps=300)" in shown.stdout
    pid = json.loads(devnet.run("safe", "status", "-o", "json").stdout)[0]["id"]
    signed = devnet.run(
        "safe", "sign", pid, "--keystore", str(keystore), "--password-env", "OWNER_4_PASSWORD"
    )
    assert signed.exit_code == 0, signed.output
    assert dev_address(4) in signed.output and "owner-four-pass" not in signed.output
    wrong = devnet.run(
        "safe", "sign", pid, "--keystore", str(keystore), "--password-env", "OWNER_3"
    )
    assert wrong.exit_code == 2 and "wrong password" in wrong.output
    assert _sign(devnet, pid, 3).exit_code == 0
    nonce = devnet.node.nonce(DEPLOYER)
    dry = devnet.run("safe", "execute", pid, "--dry-run", "-o", "json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["dry_run"] is True, dry.output
    no_tty = devnet.run("safe", "execute", pid)
    assert no_tty.exit_code == 2 and "confirmation-required" in no_tty.output
    assert devnet.node.nonce(DEPLOYER) == nonce and _safe_nonce(devnet) == devnet.base_nonce
    table = devnet.run("safe", "status")
    assert table.exit_code == 0 and "ready" in table.stdout and "2/2" in table.stdout


def test_offline_an_owner_signs_from_the_file_and_status_still_answers(devnet: SafeDevnet) -> None:
    import yaml

    from tests.support.ports import free_port

    pid = _propose(devnet, "unpause", "vault")["id"]
    config_path = devnet.project / "environments" / "local.yaml"
    original = config_path.read_text()
    config = yaml.safe_load(original)
    config["chains"]["ethereum"]["rpc_urls"] = [f"http://127.0.0.1:{free_port()}"]  # nothing there
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        online = _sign(devnet, pid, 3)
        assert online.exit_code == 4 and "rpc-unreachable" in online.output
        offline = _sign(devnet, pid, 3, "--offline")
        assert offline.exit_code == 0, offline.output
        outsider = _sign(devnet, pid, 6, "--offline")
        assert outsider.exit_code == 4 and "as recorded in the proposal" in outsider.output
        status = devnet.run("safe", "status", pid, "-o", "json")
        assert status.exit_code == 0, status.output
        row = json.loads(status.stdout)[0]
        assert row["safe_nonce"] is None and row["state"] == "pending" and row["missing"] == 1
    finally:
        config_path.write_text(original)
    assert _sign(devnet, pid, 4).exit_code == 0
    result = _execute(devnet, pid)
    assert result.exit_code == 4 and "ExpectedPause" in result.output  # not paused: refused
