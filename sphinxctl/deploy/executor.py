"""Execute plans: chains in parallel (one thread each), transactions within a chain in nonce
order, each one journaled before it is broadcast.

Per transaction: estimate on the live state, sign, write the write-ahead record, broadcast, wait
for the receipt (re-broadcasting the saved bytes if the node dropped it, replacing it with a
fee bump at the same nonce once it is stuck past `stuck_timeout_seconds`), record the receipt.
A rerun first settles what the journal left pending — re-broadcast of the saved bytes or the
receipt found — so nothing is ever sent twice. Finally the chain's confirmations are awaited.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sphinxctl.chains.rpc import RpcError
from sphinxctl.deploy.journal import PENDING, Attempt, TxRecord, now
from sphinxctl.deploy.models import ChainOutcome, PlanStep
from sphinxctl.deploy.steps import ChainView, gas_limit, revert_text, step_state, tx_fields
from sphinxctl.deploy.transactions import ChainRun, ChainTransactions, Gate
from sphinxctl.errors import ChainError, SphinxError, TransactionError
from sphinxctl.solidity.abi import keccak_hex

__all__ = ["ChainRun", "ChainRunner", "Gate", "run_chains"]


class ChainRunner(ChainTransactions):
    """Runs one chain's plan in nonce order; settles what a previous run left pending first."""

    def __init__(self, run: ChainRun) -> None:
        super().__init__(run)
        self.unexpected: BaseException | None = None

    def view(self) -> ChainView:
        return ChainView(
            client=self.client,
            deployer=self.deployer,
            journal=self._jc(),
            artifacts=self.run.artifacts,
        )

    def execute(self) -> ChainOutcome:
        self._emit("chain-start", f"{self.chain.name}: starting")
        try:
            self._settle_pending()
            for step in self.run.plan.steps:
                self._step(step)
            self._confirm()
            self.outcome.ok = True
            self._emit(
                "chain-done",
                f"done: {self.outcome.sent} sent, {self.outcome.rebroadcast} resumed, "
                f"{self.outcome.skipped} already done",
            )
            self.run.faults.hit("chain-done")
        except SphinxError as exc:
            self.outcome.error = exc.message
            self.outcome.error_reference = exc.reference
            self.outcome.hint = exc.hint
            self._emit("chain-failed", exc.message)
        except Exception as exc:  # noqa: BLE001 — reported after all chains stop (the CLI shows it)
            self.unexpected = exc
            self.outcome.error = f"unexpected {type(exc).__name__}: {exc}"
            self._emit("chain-failed", self.outcome.error)
        jc = self._jc()
        if jc is not None:
            self.outcome.contracts = {name: c.address for name, c in jc.contracts.items()}
        return self.outcome

    def _step(self, step: PlanStep) -> None:
        self._check_stop()
        view = self.view()
        if step.kind == "check":
            gate = self.run.gates.get(step.intent)
            if gate is not None:
                gate(view)
                self.run.faults.hit("checked")
            return
        state = step_state(view, step)
        if state == "pending":  # a record added since settle (should not happen); settle it
            self._settle_pending()
            state = step_state(self.view(), step)
        if state in ("done", "skip"):
            self.outcome.skipped += 1
            self._done += 1
            why = "already done" if state == "done" else "already in place on chain"
            self._emit("step-skipped", f"{step.description}: {why}")
            return
        self._send_step(view, step)

    def _next_nonce(self) -> int:
        jc = self._jc()
        chain_next = self.client.nonce(self.deployer, "pending")
        if jc is None or not jc.transactions:
            return chain_next
        expected = jc.next_nonce()
        for _ in range(10):  # a load-balanced RPC may lag one block behind the last receipt
            if chain_next >= expected:
                break
            time.sleep(0.3)
            chain_next = self.client.nonce(self.deployer, "pending")
        if chain_next != expected:
            raise ChainError(
                f"{self.chain.name}: the deployer's next nonce on chain is {chain_next}, the "
                f"journal expects {expected}: something else is using the deployer key",
                hint="stop the other sender, then run `sphinxctl deploy status --reconcile`",
                reference="nonce-mismatch",
            )
        return expected

    def _send_step(self, view: ChainView, step: PlanStep) -> None:
        nonce = self._next_nonce()
        fields = tx_fields(view, step)
        try:
            estimate = self.client.estimate_gas({"from": self.deployer, **fields})
        except RpcError as exc:
            raise TransactionError(
                f"{self.chain.name}: {step.description} would fail: {revert_text(view, exc)}",
                hint="nothing was signed for this step; fix the cause and rerun",
                reference="would-revert",
            ) from None
        fees = self._fees()
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain.chain_id,
            "nonce": nonce,
            "value": 0,
            "gas": gas_limit(estimate),
            "maxFeePerGas": fees.max_fee_wei,
            "maxPriorityFeePerGas": fees.priority_fee_wei,
            **fields,
        }
        signed = self.run.signer.sign(tx)
        self.run.faults.hit("signed")
        args = [view.resolve(arg) for arg in step.args] if step.kind == "deploy" else []
        record = TxRecord(
            nonce=nonce,
            intent=step.intent,
            kind="deploy" if step.kind == "deploy" else "call",
            phase=step.phase,
            contract=step.contract,
            description=step.description,
            to=fields.get("to"),
            args=args,
            data_hash=keccak_hex(bytes.fromhex(fields["data"][2:])),
            status="signed",
            attempts=[
                Attempt(
                    tx_hash=signed.tx_hash,
                    raw=signed.raw,
                    max_fee_per_gas=fees.max_fee_wei,
                    max_priority_fee_per_gas=fees.priority_fee_wei,
                    gas_limit=tx["gas"],
                    signed_at=now(),
                )
            ],
            tx_hash=signed.tx_hash,
            local_only=step.local_only,
            produces=step.produces,
        )
        with self.run.journal.edit():
            self._section().transactions.append(record)
        self.run.faults.hit("journaled")
        self._emit("tx-signed", f"{step.description}: signed (nonce {nonce})", signed.tx_hash)
        self._broadcast(record)
        self.run.faults.hit("broadcast")
        self._emit("tx-sent", f"{step.description}: sent {signed.tx_hash}", signed.tx_hash)
        receipt = self._await_receipt(record)
        self.run.faults.hit("mined")
        self._record_receipt(record, receipt)
        self.run.faults.hit("recorded")
        self.outcome.sent += 1
        self._done += 1
        self._emit(
            "tx-mined",
            f"{step.description}: mined in block {record.block_number}",
            record.tx_hash,
        )

    def _settle_pending(self) -> None:
        jc = self._jc()
        if jc is None:
            return
        for record in sorted(
            (r for r in jc.transactions if r.status in PENDING), key=lambda r: r.nonce
        ):
            self._emit(
                "tx-rebroadcast",
                f"{record.description}: resuming nonce {record.nonce}",
                record.tx_hash,
            )
            if self._find_receipt(record) is None and not self._broadcast(record):
                self._replace(record)
            receipt = self._await_receipt(record)
            self._record_receipt(record, receipt)
            self.outcome.rebroadcast += 1

    def _confirm(self) -> None:
        jc = self._jc()
        if jc is None:
            return
        waiting = [r for r in jc.transactions if r.status == "mined"]
        if not waiting:
            return
        need = self.chain.confirmations
        target = max(r.block_number or 0 for r in waiting)
        delay = 0.05
        while need > 0:
            have = self.client.block_number() - target + 1
            self._emit("confirming", f"{self.chain.name}: {max(have, 0)}/{need} confirmations")
            if have >= need:
                break
            time.sleep(delay)
            delay = min(delay * 1.5, self._poll_cap())
        for record in waiting:  # a reorg may have dropped a transaction: send it again
            receipt = self.client.receipt(record.tx_hash or "")
            if receipt is None or receipt.get("blockHash") != record.block_hash:
                with self.run.journal.edit():
                    record.status = "sent"
                self._settle_pending()
                self._confirm()
                return
        with self.run.journal.edit():
            for record in waiting:
                record.status = "confirmed"


def run_chains(runs: list[ChainRun]) -> dict[str, ChainOutcome]:
    """Run every chain in its own thread; re-raise an unexpected (non-Sphinx) exception.
    Ctrl-C stops every chain at its next step or receipt poll, then propagates."""
    runners = [ChainRunner(run) for run in runs]
    pool = ThreadPoolExecutor(max_workers=max(1, len(runners)))
    futures = [pool.submit(runner.execute) for runner in runners]
    try:
        outcomes = [future.result() for future in futures]
    except KeyboardInterrupt:
        for run in runs:
            run.stop.set()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    for runner in runners:
        if runner.unexpected is not None:
            raise runner.unexpected
    return {outcome.chain: outcome for outcome in outcomes}
