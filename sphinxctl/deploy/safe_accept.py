"""The Safe's side of the two-step DEFAULT_ADMIN_ROLE transfer: `acceptDefaultAdminTransfer()`.

On the local devnet the Safe's owners are anvil's public development accounts (their keys come
from anvil's published test mnemonic, which is no secret), so `deploy handover --to-safe` can
finish the transfer itself: once the delay has passed, the owners sign the Safe transaction
(EIP-712 safeTxHash, threshold signatures sorted by owner) and one of them submits
`execTransaction`. Sending from an owner keeps the deployer's nonces (and its journal) untouched.
Elsewhere the owners accept through their Safe interface after the delay (docs/RUNBOOK.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sphinxctl.chains.rpc import ChainClient, RpcError
from sphinxctl.errors import TransactionError
from sphinxctl.solidity.abi import checksum, decode_result, encode_call

ANVIL_TEST_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_ACCOUNTS = 10
ZERO_ADDRESS = "0x" + "00" * 20
ACCEPT = "acceptDefaultAdminTransfer()"
EXEC = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
_SAFE_TX = "address,uint256,bytes,uint8,uint256,uint256,uint256,address,address"
TX_HASH = f"getTransactionHash({_SAFE_TX},uint256)"
MAX_WAIT_SECONDS = 30.0
SAFE_EXEC_GAS = 400_000


def devnet_owner_accounts(owners: list[str]) -> list[Any]:
    """eth-account accounts of the configured owners that are anvil development accounts."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    wanted = {o.lower() for o in owners}
    found = []
    for index in range(ANVIL_ACCOUNTS):
        account = Account.from_mnemonic(ANVIL_TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        if account.address.lower() in wanted:
            found.append(account)
    return found


def pending_transfer(client: ChainClient, contract: str) -> tuple[str | None, int]:
    """(pending admin or None, schedule) of a contract's DEFAULT_ADMIN_ROLE transfer."""
    raw = client.call({"to": contract, "data": encode_call("pendingDefaultAdmin()", [])})
    admin, schedule = decode_result(["address", "uint48"], raw)
    return (None if int(admin, 16) == 0 else checksum(admin)), int(schedule)


def _signatures(safe_tx_hash: bytes, signers: list[Any]) -> bytes:
    from eth_account import Account

    blob = b""
    for account in sorted(signers, key=lambda a: int(a.address, 16)):
        signed = Account.unsafe_sign_hash(safe_tx_hash, account.key)
        blob += signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    return blob


def _send(client: ChainClient, account: Any, to: str, data: str, note: str) -> None:
    from sphinxctl.chains.fees import quote_fees

    sender = checksum(account.address)
    fees = quote_fees(client)
    tx = {
        "type": 2,
        "chainId": client.chain.chain_id,
        "nonce": client.nonce(sender),
        "to": to,
        "value": 0,
        "data": data,
        # A fixed limit, no estimate: a node may estimate on the last block, whose timestamp
        # can still be inside the transfer delay that the mined block is past.
        "gas": SAFE_EXEC_GAS,
        "maxFeePerGas": fees.max_fee_wei,
        "maxPriorityFeePerGas": fees.priority_fee_wei,
    }
    signed = account.sign_transaction(tx)
    tx_hash = client.send_raw("0x" + bytes(signed.raw_transaction).hex())
    deadline = time.monotonic() + 60
    while (receipt := client.receipt(tx_hash)) is None:
        if time.monotonic() > deadline:
            raise TransactionError(f"{client.name}: the Safe transaction {tx_hash} was not mined")
        time.sleep(0.2)
    if int(str(receipt["status"]), 16) != 1:
        block = client.block(str(receipt["blockNumber"]))
        stamp = int(str(block["timestamp"]), 16) if block else -1
        raise TransactionError(
            f"{client.name}: the Safe transaction {tx_hash} reverted (block time {stamp}, {note})"
        )


def _accept_would_pass(client: ChainClient, safe: str, contract: str) -> bool:
    try:
        client.call({"from": safe, "to": contract, "data": encode_call(ACCEPT, [])}, "pending")
    except RpcError:
        return False
    return True


def accept_through_devnet_safe(
    client: ChainClient,
    safe: str,
    contract: str,
    owners: list[Any],
    threshold: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Make the Safe accept `contract`'s pending DEFAULT_ADMIN_ROLE transfer (False: none pending
    to the Safe). Waits out a short delay; refuses to wait longer than MAX_WAIT_SECONDS."""
    pending, schedule = pending_transfer(client, contract)
    if pending is None or pending.lower() != safe.lower():
        return False
    if len(owners) < threshold:
        raise TransactionError(
            f"{client.name}: only {len(owners)} of the Safe's owners are devnet accounts, "
            f"{threshold} must sign",
            hint="accept through the Safe's owners (see docs/RUNBOOK.md)",
            reference="safe-owners-unknown",
        )
    latest = client.block("latest")
    chain_now = int(str(latest["timestamp"]), 16) if latest else 0
    # The next block is stamped with the node's clock (never before the last block's time).
    wait = schedule + 1 - max(chain_now, int(time.time()))
    if wait > MAX_WAIT_SECONDS:
        raise TransactionError(
            f"{client.name}: the DEFAULT_ADMIN_ROLE transfer of {contract} can be accepted only "
            f"in {int(wait)} s",
            hint="rerun `sphinxctl deploy handover --to-safe` after the delay",
            reference="admin-transfer-delay",
        )
    if wait > 0:
        sleep(wait)
    # A node's clock may run behind the wall clock (a devnet reverted to a snapshot): wait until
    # the Safe's call passes on the pending block.
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while not _accept_would_pass(client, safe, contract):
        if time.monotonic() > deadline:
            raise TransactionError(
                f"{client.name}: the Safe still cannot accept DEFAULT_ADMIN_ROLE on {contract}",
                hint="rerun `sphinxctl deploy handover --to-safe` after the delay",
                reference="admin-transfer-delay",
            )
        sleep(0.5)
    data = encode_call(ACCEPT, [])
    nonce = decode_result(
        ["uint256"], client.call({"to": safe, "data": encode_call("nonce()", [])})
    )
    tx_fields = [contract, 0, bytes.fromhex(data[2:]), 0, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS]
    raw_hash = client.call({"to": safe, "data": encode_call(TX_HASH, [*tx_fields, nonce[0]])})
    safe_tx_hash = bytes(decode_result(["bytes32"], raw_hash)[0])
    signatures = _signatures(safe_tx_hash, owners[:threshold])
    note = f"transfer schedule {schedule}"
    _send(client, owners[0], safe, encode_call(EXEC, [*tx_fields, signatures]), note)
    return True
