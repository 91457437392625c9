"""Publish a snapshot's root with `setRarityRoot`, at most once per root, audited.

Before anything is sent the chain is asked: when `rarityRoot()` already equals the root, the
publish happened (its transaction is found from the job's journal or the RarityRootUpdated
log) and nothing is sent. Otherwise the signed transaction is journaled in the job row before
its broadcast; a rerun finds the journal and waits for (or re-broadcasts the same bytes of)
that transaction instead of signing a new one. Audit events (`rarity.publish` requested, then
the result) and the sent-transaction record are the same for the API and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import ChainError, TransactionError
from sphinxctl.solidity.abi import event_topic
from sphinxctl.solidity.names import NFT

if TYPE_CHECKING:
    from sphinxctl.deploy.faults import Faults
    from sphinxctl.platform.gateway import ChainGateway
    from sphinxctl.platform.models import TxOutcome
    from sphinxctl.store import Store
    from sphinxctl.store.snapshots import SnapshotJob

ACTION = "rarity.publish"
KIND = "rarity_publish"
ROOT_UPDATED = event_topic("RarityRootUpdated(bytes32,bytes32)")


@dataclass
class Published:
    tx_hash: str
    sent_now: bool  # False when the root was already on chain or the journaled tx was mined


class Publisher:
    """Publishes one job's root (the job must hold a stored snapshot)."""

    def __init__(
        self, store: Store, gateway: ChainGateway, job: SnapshotJob, owner: str, faults: Faults
    ) -> None:
        assert job.root is not None and job.snapshot_id is not None
        self.store, self.gateway, self.job, self.owner = store, gateway, job, owner
        self.faults = faults
        self.chain, self.root = job.chain, job.root
        self.audit: dict[str, Any] = {
            "actor": job.actor,
            "role": job.role,
            "action": ACTION,
            "target": f"{job.chain}:{NFT}",
            "params": {"root": job.root, "snapshot_id": job.snapshot_id, "job_id": job.id},
        }

    def publish(self) -> Published:
        if self.gateway.rarity_root(self.chain) == bytes.fromhex(self.root[2:]):
            tx_hash = self.job.publish_tx or self._publishing_tx()
            self._finish(tx_hash, "confirmed", None, resumed=True)
            return Published(tx_hash, sent_now=False)
        if self.job.publish_tx and self.job.publish_raw:
            outcome = self._resume_journaled(self.job.publish_tx, self.job.publish_raw)
            if outcome is not None:
                self._finish(outcome.tx_hash, outcome.status, outcome.block_number, resumed=True)
                return Published(outcome.tx_hash, sent_now=False)
        return self._send()

    def _send(self) -> Published:
        root = bytes.fromhex(self.root[2:])
        self.store.append_audit(**self.audit, result="requested")
        journal = self.store.snapshots.update_job

        def on_signed(tx_hash: str, raw: str) -> None:
            self.faults.hit("signed")
            if not journal(self.job.id, self.owner, publish_tx=tx_hash, publish_raw=raw):
                raise ChainError("the snapshot job was taken over by another process")
            self.faults.hit("journaled")

        def on_sent(tx_hash: str) -> None:
            self.faults.hit("broadcast")
            self.store.record_transaction(
                self.chain, tx_hash, KIND, status="pending", actor=self.job.actor
            )

        try:
            outcome = self.gateway.transact(
                self.chain, NFT, "setRarityRoot", root, on_sent=on_sent, on_signed=on_signed
            )
        except Exception as exc:
            message = getattr(exc, "message", str(exc))
            self._audit(f"refused: {getattr(exc, 'reference', type(exc).__name__)}", error=message)
            raise
        self.faults.hit("mined")
        self._finish(outcome.tx_hash, outcome.status, outcome.block_number, resumed=False)
        return Published(outcome.tx_hash, sent_now=True)

    def _resume_journaled(self, tx_hash: str, raw: str) -> TxOutcome | None:
        """The journaled transaction's outcome (re-broadcast when the node lost it); None when
        it can no longer be mined (its nonce was used by another transaction)."""
        from sphinxctl.chains.rpc import RpcError

        client = self.gateway.client(self.chain)
        if client.receipt(tx_hash) is None and client.transaction(tx_hash) is None:
            try:
                client.send_raw(raw)
            except RpcError as exc:
                if exc.mentions("nonce too low", "nonce is too low", "already imported"):
                    return (
                        None
                        if client.receipt(tx_hash) is None
                        else self.gateway.wait(self.chain, tx_hash)
                    )
                if not exc.mentions("already known"):
                    raise
        return self.gateway.wait(self.chain, tx_hash)

    def _publishing_tx(self) -> str:
        """The transaction that set this root, from its RarityRootUpdated log."""
        logs = self.gateway.client(self.chain).logs(
            {
                "address": self.gateway.address(self.chain, NFT),
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": [ROOT_UPDATED, None, self.root],
            }
        )
        if not logs:
            raise ChainError(f"{self.chain}: the root is on chain but no log says which tx set it")
        return str(logs[-1]["transactionHash"])

    def _finish(self, tx_hash: str, status: str, block: int | None, *, resumed: bool) -> None:
        if status == "pending":
            raise ChainError(
                f"{self.chain}: setRarityRoot {tx_hash} is not mined yet",
                reference="publish-pending",
                hint="rerun the snapshot later: the same transaction is awaited, none is re-sent",
            )
        self.store.record_transaction(self.chain, tx_hash, KIND, actor=self.job.actor)
        self.store.update_transaction_status(self.chain, tx_hash, status, block_number=block)
        self._audit(status if not resumed else f"{status} (resumed)", tx_hash=tx_hash)
        if status != "confirmed":
            raise TransactionError(
                f"{self.chain}: setRarityRoot {tx_hash} reverted on chain",
                reference="transaction-reverted",
                details={"tx_hash": tx_hash, "block_number": block},
            )
        self.store.mark_snapshot_published(self.chain, self.root, tx_hash)
        self.faults.hit("recorded")

    def _audit(self, result: str, **extra: Any) -> None:
        event = {**self.audit, "params": {**self.audit["params"], **extra}}
        self.store.append_audit(**event, result=result)
