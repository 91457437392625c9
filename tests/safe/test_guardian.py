"""The guardian (GUARDIAN_ROLE, anvil dev account 6 in environments/local.yaml) after handover:
it can pause both contracts and nothing else — each other admin function reverts for it — and
the API pauses with its key at once while unpause goes to the Safe."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sphinxctl.solidity.abi import encode_call, role_id, selector_hex
from tests.safe.test_safe_flow import NFT, VAULT, _paused, _safe_nonce, _sign
from tests.support.api_env import auth, memory_app, tokens_for
from tests.support.deploy_env import dev_address, dev_key
from tests.support.safe_env import SafeDevnet

pytestmark = pytest.mark.integration
GUARDIAN = dev_address(6)
OTHER = dev_address(7)
UNAUTHORIZED = "0xe2517d3f"  # AccessControlUnauthorizedAccount(address,bytes32)


def _send(devnet: SafeDevnet, sender: str, to: str, data: str) -> int:
    import time

    tx_hash = devnet.node.call(
        "eth_sendTransaction", {"from": sender, "to": to, "data": data, "gas": hex(600_000)}
    )
    for _ in range(200):
        receipt = devnet.node.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return int(receipt["status"], 16)
        time.sleep(0.02)
    raise AssertionError(f"{tx_hash} was not mined")


def _refused(devnet: SafeDevnet, contract: str, data: str) -> str:
    with pytest.raises(RuntimeError) as reverted:
        devnet.node.call(
            "eth_call", {"from": GUARDIAN, "to": devnet.contracts[contract], "data": data}, "latest"
        )
    return str(reverted.value)


def test_the_guardian_pauses_both_contracts(devnet: SafeDevnet) -> None:
    for contract in (VAULT, NFT):
        assert _send(devnet, GUARDIAN, devnet.contracts[contract], selector_hex("pause()")) == 1
        assert _paused(devnet, contract)


FORBIDDEN: list[tuple[str, str, list[Any]]] = [
    (VAULT, "unpause()", []),
    (NFT, "unpause()", []),
    (VAULT, "grantRole(bytes32,address)", [role_id("GUARDIAN_ROLE"), OTHER]),
    (NFT, "grantRole(bytes32,address)", [role_id("MINTER_ROLE"), GUARDIAN]),
    (VAULT, "revokeRole(bytes32,address)", [role_id("OPERATOR_ROLE"), OTHER]),
    (VAULT, "beginDefaultAdminTransfer(address)", [GUARDIAN]),
    (VAULT, "setTreasury(address)", [GUARDIAN]),
    (NFT, "setTreasury(address)", [GUARDIAN]),
    (VAULT, "sweep(address,address)", [OTHER, GUARDIAN]),
    (VAULT, "addStrategy(address)", [OTHER]),
    (VAULT, "forceRemoveStrategy(address)", [OTHER]),
    (VAULT, "activateEmergencyShutdown()", []),
    (VAULT, "setTreasuryFeeBps(uint16)", [1000]),
    (NFT, "setRarityRoot(bytes32)", ["0x" + "ab" * 32]),
    (NFT, "setMintFee(uint8,uint256)", [0, 0]),
]


@pytest.mark.parametrize(("contract", "signature", "args"), FORBIDDEN)
def test_the_guardian_can_do_nothing_but_pause(
    devnet: SafeDevnet, contract: str, signature: str, args: list[Any]
) -> None:
    assert _send(devnet, GUARDIAN, devnet.contracts[contract], selector_hex("pause()")) == 1
    reason = _refused(devnet, contract, encode_call(signature, args))
    assert UNAUTHORIZED in reason and GUARDIAN[2:].lower() in reason.lower(), reason


def test_the_guardian_cannot_move_depositors_funds(devnet: SafeDevnet) -> None:
    # ERC-4626 withdraw/redeem for another owner needs an allowance the guardian never has.
    data = encode_call("redeem(uint256,address,address)", [1, GUARDIAN, dev_address(1)])
    assert "execution reverted" in _refused(devnet, VAULT, data)


def test_api_pauses_with_the_guardian_and_unpause_goes_through_the_safe(
    devnet: SafeDevnet,
) -> None:
    from eth_account import Account

    from sphinxctl.chains.signer import Signer
    from sphinxctl.settings import load_settings

    settings = load_settings("local", devnet.project / "environments").settings
    guardian = Signer(Account.from_key(dev_key(6)))
    with TestClient(memory_app(devnet.project, settings, poller=None, guardian=guardian)) as api:
        tokens = tokens_for(settings, devnet.project)
        paused = api.post(f"/api/v1/admin/ethereum/{VAULT}/pause", headers=auth(tokens["admin"]))
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True and _paused(devnet, VAULT)
        sender = devnet.node.call("eth_getTransactionByHash", paused.json()["tx_hash"])["from"]
        assert sender.lower() == GUARDIAN.lower()
        unpause = api.post(f"/api/v1/admin/ethereum/{VAULT}/unpause", headers=auth(tokens["admin"]))
        assert unpause.status_code == 202, unpause.text
    proposal = unpause.json()["proposal_id"]
    for owner in (4, 5):
        assert _sign(devnet, proposal, owner).exit_code == 0
    result = devnet.run("safe", "execute", proposal, "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert not _paused(devnet, VAULT) and _safe_nonce(devnet) == devnet.base_nonce + 1
    assert json.loads(result.stdout)["success"] is True


def test_a_call_the_target_refuses_is_refused_before_anything_is_sent(devnet: SafeDevnet) -> None:
    """The devnet handover already made the Safe the default admin: accepting again reverts
    inside the Safe (GS013), found by the simulation before the executor signs."""
    from tests.safe.test_safe_flow import DEPLOYER, _execute, _propose

    pid = _propose(devnet, "accept-admin-transfer", "vault")["id"]
    for owner in (3, 5):
        assert _sign(devnet, pid, owner).exit_code == 0
    nonce = devnet.node.nonce(DEPLOYER)
    result = _execute(devnet, pid)
    assert result.exit_code == 4 and "safe-execution-refused" in result.output, result.output
    assert "GS013" in result.output and "the call it makes reverted" in result.output
    assert devnet.node.nonce(DEPLOYER) == nonce and _safe_nonce(devnet) == devnet.base_nonce
