"""One chain's transactions after signing: broadcast of the saved bytes, waiting for the
receipt (re-broadcast when the node dropped it, a fee-bumped replacement at the same nonce once
it is stuck past `stuck_timeout_seconds`, journaled before it is sent), and recording receipts,
created contracts and the Safe in the journal."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sphinxctl.chains.fees import FeeQuote, bumped, format_gwei, quote_fees
from sphinxctl.chains.registry import explorer_link
from sphinxctl.chains.rpc import ChainClient, RpcError
from sphinxctl.chains.signer import Signer
from sphinxctl.deploy.faults import NO_FAULTS, Faults
from sphinxctl.deploy.journal import (
    Attempt,
    ChainJournal,
    ContractRecord,
    Journal,
    SafeRecord,
    TxRecord,
    now,
)
from sphinxctl.deploy.models import ChainOutcome, ChainPlan, DeployEvent
from sphinxctl.deploy.steps import ChainView
from sphinxctl.errors import Aborted, ChainError, PreflightError, TransactionError
from sphinxctl.settings import ChainSettings
from sphinxctl.solidity.abi import checksum, create_address, keccak_hex
from sphinxctl.solidity.artifacts import Artifact

PROXY_CREATION_TOPIC = keccak_hex(b"ProxyCreation(address,address)")
KNOWN_PHRASES = ("already known", "already imported", "known transaction", "nonce too low")
FEE_PHRASES = ("underpriced", "fee cap", "less than block base fee", "max fee per gas less")

Gate = Callable[[ChainView], None]
EventSink = Callable[[DeployEvent], None]


@dataclass
class ChainRun:
    """Everything one chain's thread needs."""

    environment: str
    chain: ChainSettings
    client: ChainClient
    signer: Signer
    journal: Journal
    plan: ChainPlan
    artifacts: dict[str, Artifact]
    on_event: EventSink
    faults: Faults = NO_FAULTS
    gates: dict[str, Gate] = field(default_factory=dict)
    genesis_hash: str | None = None
    safe_owners: list[str] = field(default_factory=list)
    safe_threshold: int | None = None
    stop: threading.Event = field(default_factory=threading.Event)


class ChainTransactions:
    """Transaction handling shared by a chain's runner (see the module docstring)."""

    def __init__(self, run: ChainRun) -> None:
        self.run = run
        self.chain = run.chain
        self.client = run.client
        self.deployer = run.signer.address
        self.outcome = ChainOutcome(chain=run.chain.name, ok=False)
        self._done = 0
        self._total = len([s for s in run.plan.steps if s.kind != "check"])

    def _emit(self, kind: str, message: str, tx_hash: str | None = None) -> None:
        self.run.on_event(
            DeployEvent(
                kind=kind,
                chain=self.chain.name,
                message=message,
                done=self._done,
                total=self._total,
                tx_hash=tx_hash,
            )
        )

    def _jc(self) -> ChainJournal | None:
        return self.run.journal.chain(self.chain.name)

    def _section(self) -> ChainJournal:
        """This chain's journal section (created on first use; caller holds the edit lock)."""
        doc = self.run.journal.document
        jc = doc.chains.get(self.chain.name)
        if jc is None:
            jc = ChainJournal(
                chain_id=self.chain.chain_id,
                genesis_hash=self.run.genesis_hash,
                deployer=self.deployer,
            )
            doc.chains[self.chain.name] = jc
        return jc

    def _poll_cap(self) -> float:
        """Longest pause between receipt polls: 1 s (a fraction of any block time), shorter
        when the stuck timeout is short."""
        return min(1.0, max(0.1, self.chain.stuck_timeout_seconds / 5))

    def _check_stop(self) -> None:
        """Stop between steps (or while waiting) once the operator pressed Ctrl-C."""
        if self.run.stop.is_set():
            raise Aborted(
                f"{self.chain.name}: interrupted; the journal is consistent",
                hint="rerun the same command to resume: pending transactions are awaited or "
                "re-broadcast, nothing is sent twice",
                reference="interrupted",
            )

    def _fees(self) -> FeeQuote:
        fees = quote_fees(self.client)
        if fees.above_ceiling:
            raise PreflightError(
                f"{self.chain.name}: the base fee rose to {format_gwei(fees.base_fee_wei)} gwei, "
                f"above the ceiling {self.chain.max_base_fee_gwei} gwei; stopped before signing",
                hint="rerun when fees are lower: finished steps are skipped",
                reference="preflight-base-fee-above-ceiling",
            )
        return fees

    def _broadcast(self, record: TxRecord) -> bool:
        """Send the latest attempt's saved bytes. False when the node refuses it for its fee."""
        raw = record.attempts[-1].raw
        assert raw is not None
        try:
            self.client.send_raw(raw)
        except RpcError as exc:
            if exc.mentions(*KNOWN_PHRASES):
                pass  # sent before (maybe by a run that crashed): the receipt decides
            elif exc.mentions(*FEE_PHRASES):
                return False
            else:
                raise TransactionError(
                    f"{self.chain.name}: the node refused {record.description} "
                    f"(nonce {record.nonce}): {exc.message}",
                    hint="the signed transaction is kept in the journal; fix the cause (e.g. fund "
                    "the deployer) and rerun to broadcast it again",
                    reference="broadcast-refused",
                ) from None
        if record.status == "signed":
            with self.run.journal.edit():
                record.status = "sent"
                record.sent_at = now()
        return True

    def _find_receipt(self, record: TxRecord) -> dict[str, Any] | None:
        for tx_hash in reversed(record.hashes):
            receipt = self.client.receipt(tx_hash)
            if receipt is not None:
                return receipt
        return None

    def _await_receipt(self, record: TxRecord) -> dict[str, Any]:
        last_send = time.monotonic()
        delay = 0.02
        checked_pool = False
        while True:
            receipt = self._find_receipt(record)
            if receipt is not None:
                return receipt
            self._check_stop()
            waited = time.monotonic() - last_send
            if waited >= self.chain.stuck_timeout_seconds:
                if self.client.nonce(self.deployer, "latest") > record.nonce:
                    receipt = self._find_receipt(record)
                    if receipt is not None:
                        return receipt
                    raise TransactionError(
                        f"{self.chain.name}: nonce {record.nonce} ({record.description}) was used "
                        "by a transaction this journal did not sign",
                        hint="another process uses the deployer key; stop it and run "
                        "`sphinxctl deploy status --reconcile`",
                        reference="nonce-consumed",
                    )
                self._replace(record)
                last_send = time.monotonic()
                checked_pool = False
            elif waited >= self.chain.stuck_timeout_seconds / 3 and not checked_pool:
                checked_pool = True
                if self.client.transaction(record.attempts[-1].tx_hash) is None:
                    self._emit(
                        "tx-rebroadcast", f"{record.description}: re-broadcasting", record.tx_hash
                    )
                    self._broadcast(record)
            time.sleep(delay)
            delay = min(delay * 1.5, self._poll_cap())

    def _replace(self, record: TxRecord) -> None:
        """Same nonce, same payload, higher fees: journaled before it is broadcast."""
        from eth_account.typed_transactions import TypedTransaction
        from hexbytes import HexBytes

        old = record.attempts[-1]
        assert old.raw is not None
        fees = self._fees()
        max_fee, priority = bumped(
            old.max_fee_per_gas or fees.max_fee_wei,
            old.max_priority_fee_per_gas or fees.priority_fee_wei,
            self.chain.fee_bump_percent,
            fees,
        )
        fields = TypedTransaction.from_bytes(HexBytes(old.raw)).as_dict()
        for key in ("v", "r", "s"):
            fields.pop(key, None)
        if not fields.get("to"):
            fields.pop("to", None)
        fields.update(maxFeePerGas=max_fee, maxPriorityFeePerGas=priority, type=2)
        signed = self.run.signer.sign(fields)
        with self.run.journal.edit():
            record.attempts.append(
                Attempt(
                    tx_hash=signed.tx_hash,
                    raw=signed.raw,
                    max_fee_per_gas=max_fee,
                    max_priority_fee_per_gas=priority,
                    gas_limit=int(fields["gas"]),
                    signed_at=now(),
                )
            )
            record.tx_hash = signed.tx_hash
        self.run.faults.hit("replaced")
        self.outcome.replaced += 1
        self._emit(
            "tx-replaced",
            f"{record.description}: stuck, replaced at nonce {record.nonce} with max fee "
            f"{format_gwei(max_fee)} gwei",
            signed.tx_hash,
        )
        if not self._broadcast(record):
            raise TransactionError(
                f"{self.chain.name}: the node refused the fee-bumped replacement of "
                f"{record.description} (nonce {record.nonce})",
                hint="rerun later; the pending transaction stays in the journal",
                reference="replacement-refused",
            )

    def _record_receipt(self, record: TxRecord, receipt: dict[str, Any]) -> None:
        status = int(receipt.get("status", "0x1"), 16)
        tx_hash = str(receipt["transactionHash"])
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        price = int(receipt.get("effectiveGasPrice") or "0x0", 16)
        with self.run.journal.edit():
            record.status = "mined" if status == 1 else "reverted"
            record.tx_hash = tx_hash
            record.block_number = block
            record.block_hash = receipt.get("blockHash")
            record.gas_used = gas_used
            record.effective_gas_price = price
            record.cost_wei = gas_used * price
            record.mined_at = now()
            if status == 1:
                self._record_creation(record, receipt)
        if status != 1:
            raise TransactionError(
                f"{self.chain.name}: {record.description} reverted in {tx_hash} (block {block})",
                hint="the failed transaction is journaled; fix the cause and rerun (the step is "
                "sent again at the next nonce)",
                reference="transaction-reverted",
            )

    def _record_creation(self, record: TxRecord, receipt: dict[str, Any]) -> None:
        jc = self._section()
        link: Callable[[str], str | None] = lambda address: explorer_link(  # noqa: E731
            self.chain, self.run.environment, "address", address
        )
        if record.kind == "deploy" and record.contract:
            address = checksum(str(receipt["contractAddress"]))
            expected = create_address(self.deployer, record.nonce)
            if address != expected:
                raise ChainError(
                    f"{self.chain.name}: {record.contract} landed at {address}, expected {expected}"
                )
            record.contract_address = address
            jc.contracts[record.contract] = ContractRecord(
                name=record.contract,
                address=address,
                tx_hash=record.tx_hash,
                block_number=record.block_number,
                nonce=record.nonce,
                local_only=record.local_only,
                args=record.args,
                explorer_url=link(address),
            )
        if record.produces == "Safe":
            logs = [
                log for log in receipt.get("logs", []) if log["topics"][0] == PROXY_CREATION_TOPIC
            ]
            if not logs:
                raise ChainError(
                    f"{self.chain.name}: the Safe factory emitted no ProxyCreation event"
                )
            address = checksum("0x" + logs[0]["topics"][1][-40:])
            record.contract_address = address
            jc.safe = SafeRecord(
                address=address,
                owners=self.run.safe_owners,
                threshold=self.run.safe_threshold,
                deployed_by_sphinxctl=True,
                explorer_url=link(address),
            )
            jc.contracts["Safe"] = ContractRecord(
                name="Safe",
                address=address,
                tx_hash=record.tx_hash,
                block_number=record.block_number,
                nonce=record.nonce,
                local_only=True,
                explorer_url=link(address),
            )
