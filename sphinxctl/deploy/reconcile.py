"""Rebuild a chain's journal section from the chain itself, for when the journal is lost or
behind: for every deployer nonce, the code at its CREATE address identifies a deployment (by
comparing with the artifacts); the transaction itself is located by a binary search over blocks
on the deployer's nonce (needs historical state; without it the entry stays anonymous)."""

from __future__ import annotations

from typing import Any

from sphinxctl.chains.reads import has_code
from sphinxctl.chains.registry import explorer_link
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.deploy.journal import (
    FINAL_OK,
    PENDING,
    ChainJournal,
    ContractRecord,
    SafeRecord,
    TxRecord,
    now,
)
from sphinxctl.deploy.plan import GRANT, RENOUNCE
from sphinxctl.deploy.safe import RECORDED_AS, inspect_safe
from sphinxctl.deploy.transactions import PROXY_CREATION_TOPIC
from sphinxctl.deploy.verify import identify
from sphinxctl.errors import ChainError
from sphinxctl.settings import ChainSettings
from sphinxctl.solidity.abi import (
    DECODE_ERRORS,
    checksum,
    create_address,
    decode_result,
    role_name,
    selector_hex,
)
from sphinxctl.solidity.artifacts import Artifact
from sphinxctl.solidity.names import LOCAL_TOKEN, NFT

_ARTIFACT_TO_RECORDED = {artifact: recorded for recorded, artifact in RECORDED_AS.items()}


def _first_block_after(client: ChainClient, deployer: str, nonce: int, lo: int, hi: int) -> int:
    """Smallest block whose post-state nonce of `deployer` exceeds `nonce`."""
    while lo < hi:
        mid = (lo + hi) // 2
        if client.nonce(deployer, mid) > nonce:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _find_tx(
    client: ChainClient, deployer: str, nonce: int, lo: int, hi: int
) -> tuple[dict[str, Any], dict[str, Any], int] | None:
    try:
        block_number = _first_block_after(client, deployer, nonce, lo, hi)
        block = client.block(block_number, full=True)
    except ChainError:  # RpcError included
        return None
    for tx in (block or {}).get("transactions", []):
        if (
            isinstance(tx, dict)
            and str(tx.get("from", "")).lower() == deployer.lower()
            and int(tx["nonce"], 16) == nonce
        ):
            receipt = client.receipt(tx["hash"])
            if receipt is not None:
                return tx, receipt, block_number
    return None


def _describe_call(
    tx: dict[str, Any], names: dict[str, str], safe: str | None
) -> tuple[str, str, str | None]:
    """(intent, description, target contract name) of a call made by the deployer."""
    data = str(tx.get("input") or tx.get("data") or "0x")
    target = names.get(str(tx.get("to") or "").lower())
    selector, body = data[:10].lower(), data[10:]
    try:
        if target and selector in (selector_hex(GRANT), selector_hex(RENOUNCE)):
            role, account = decode_result(["bytes32", "address"], body)
            role_text = role_name("0x" + role.hex())
            if selector == selector_hex(GRANT):
                who = checksum(account)
                if safe is not None and who.lower() == safe.lower():
                    return (
                        f"handover:grant:{target}:{role_text}:Safe",
                        f"grant {role_text} on {target} to Safe",
                        target,
                    )
                return (
                    f"grant:{target}:{role_text}:{who}",
                    f"grant {role_text} on {target} to {who}",
                    target,
                )
            return (
                f"handover:renounce:{target}:{role_text}",
                f"renounce {role_text} on {target}",
                target,
            )
        if target == NFT and selector == selector_hex("setPhiBounds(uint16,uint16)"):
            low, high = decode_result(["uint16", "uint16"], body)
            return f"call:{NFT}:setPhiBounds:{low}:{high}", f"set phi bounds {low}..{high}", target
        if selector == selector_hex("createProxyWithNonce(address,bytes,uint256)"):
            return "handover:create:Safe", "create the Safe", target
    except DECODE_ERRORS:
        pass  # not the call it claims to be: described by its selector below
    return f"call:{target or tx.get('to')}:{selector}", f"call {selector} on {tx.get('to')}", target


def reconcile_chain(
    client: ChainClient,
    chain: ChainSettings,
    environment: str,
    deployer: str,
    artifacts: dict[str, Artifact],
    existing: ChainJournal | None,
) -> tuple[ChainJournal, list[str]]:
    """A journal section rebuilt from the chain, and notes on what differed from `existing`."""
    genesis = client.genesis_hash()
    if existing is not None and existing.genesis_hash not in (None, genesis):
        existing = None  # a different (reset) chain: nothing of the old section applies
    latest = client.nonce(deployer, "latest")
    head = client.block_number()
    known = {tx.nonce: tx for tx in existing.transactions} if existing else {}
    notes: list[str] = []
    records: list[TxRecord] = []
    contracts: dict[str, ContractRecord] = {}
    safe = existing.safe if existing else None
    names: dict[str, str] = {}
    low = 0
    for nonce in range(latest):
        address = create_address(deployer, nonce)
        code = client.code(address)
        found = _find_tx(client, deployer, nonce, low, head)
        tx, receipt, block_number = found if found else ({}, {}, None)
        if block_number is not None:
            low = block_number
        tx_hash = tx.get("hash") if tx else None
        base: dict[str, Any] = {
            "nonce": nonce,
            "status": "reconciled",
            "tx_hash": tx_hash,
            "block_number": block_number,
            "block_hash": receipt.get("blockHash") if receipt else None,
            "gas_used": int(receipt["gasUsed"], 16) if receipt else None,
        }
        old = known.get(nonce)
        if old is not None and old.status in FINAL_OK and old.tx_hash == tx_hash:
            record = old.model_copy(update={"status": old.status})
        elif has_code(code):
            name = identify(code, artifacts)
            recorded = _ARTIFACT_TO_RECORDED.get(name or "", name) or f"unknown@{nonce}"
            record = TxRecord(
                intent=f"deploy:{recorded}",
                kind="deploy",
                contract=recorded,
                description=f"deploy {recorded}",
                contract_address=address,
                **base,
            )
        elif tx:
            intent, description, target = _describe_call(tx, names, safe.address if safe else None)
            record = TxRecord(
                intent=intent,
                kind="call",
                contract=target,
                to=tx.get("to"),
                description=description,
                **base,
            )
        else:
            record = TxRecord(
                intent=f"unknown:{nonce}",
                kind="unknown",
                description="transaction not found (no historical state)",
                **base,
            )
        if old is None or old.tx_hash != record.tx_hash:
            notes.append(f"{chain.name}: nonce {nonce}: {record.description} (recovered)")
        records.append(record)
        if record.kind == "deploy" and record.contract and has_code(code):
            if record.contract in contracts:
                notes.append(f"{chain.name}: a second {record.contract} exists at {address}")
                continue
            previous = existing.contracts.get(record.contract) if existing else None
            contracts[record.contract] = ContractRecord(
                name=record.contract, address=address, tx_hash=record.tx_hash,
                block_number=record.block_number, nonce=nonce,
                local_only=record.contract in (LOCAL_TOKEN, "SafeSingleton", "SafeProxyFactory"),
                args=previous.args if previous and previous.address == address else [],
                verified=previous.verified if previous and previous.address == address else None,
                explorer_url=explorer_link(chain, environment, "address", address),
            )  # fmt: skip
            names[address.lower()] = record.contract
        if record.intent == "handover:create:Safe" and receipt:
            logs = [
                log for log in receipt.get("logs", []) if log["topics"][0] == PROXY_CREATION_TOPIC
            ]
            if logs:
                safe_address = checksum("0x" + logs[0]["topics"][1][-40:])
                info = inspect_safe(client, safe_address)
                safe = SafeRecord(
                    address=safe_address,
                    deployed_by_sphinxctl=True,
                    owners=info.owners,
                    threshold=info.threshold,
                    explorer_url=explorer_link(chain, environment, "address", safe_address),
                )
                contracts["Safe"] = ContractRecord(
                    name="Safe",
                    address=safe_address,
                    tx_hash=record.tx_hash,
                    nonce=nonce,
                    local_only=True,
                )
    pending = [tx for tx in known.values() if tx.nonce >= latest and tx.status in PENDING]
    section = ChainJournal(
        chain_id=chain.chain_id, genesis_hash=genesis, deployer=deployer,
        transactions=records + sorted(pending, key=lambda t: t.nonce), contracts=contracts,
        safe=safe, handed_over=existing.handed_over if existing else False,
        handed_over_at=existing.handed_over_at if existing else None, reconciled_at=now(),
    )  # fmt: skip
    if existing is not None:
        extra = [n for n in known if n >= latest and known[n].status not in PENDING]
        if extra:
            notes.append(
                f"{chain.name}: dropped {len(extra)} journal entries the chain never mined"
            )
    return section, notes
