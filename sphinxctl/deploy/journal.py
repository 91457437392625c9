"""The write-ahead deployment journal, `deployments/<env>.json`.

Every transaction is recorded *before* it is broadcast (signed raw bytes, hash, nonce, intent)
and completed after (receipt, address, block, gas, cost). Each change rewrites the whole file
atomically (temporary file, fsync, rename, fsync of the directory), so after a crash — even
kill -9 in the middle of a write — the file is either the previous or the next version, never a
mix. A lock file keeps two deployments of one environment from running at once.

This module is light (pydantic only): the API server and the checklist read journals through
`records.py` without importing web3.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError

from sphinxctl.errors import ChainError

FORMAT = 1
DEPLOYMENTS_DIR = "deployments"

TxStatus = Literal["signed", "sent", "mined", "confirmed", "reverted", "reconciled"]
FINAL_OK: frozenset[str] = frozenset({"mined", "confirmed", "reconciled"})
PENDING: frozenset[str] = frozenset({"signed", "sent"})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Attempt(BaseModel):
    """One signed version of a transaction (a fee-bumped replacement adds another, same nonce)."""

    tx_hash: str
    raw: str | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    gas_limit: int | None = None
    signed_at: str | None = None


class TxRecord(BaseModel):
    """One deployer transaction: intent first, outcome once mined."""

    nonce: int
    intent: str
    kind: Literal["deploy", "call", "unknown"]
    phase: Literal["deploy", "handover"] = "deploy"
    contract: str | None = None
    description: str = ""
    to: str | None = None
    args: list[Any] = Field(default_factory=list)
    data_hash: str | None = None
    local_only: bool = False
    produces: str | None = None
    status: TxStatus
    attempts: list[Attempt] = Field(default_factory=list)
    tx_hash: str | None = None
    contract_address: str | None = None
    block_number: int | None = None
    block_hash: str | None = None
    gas_used: int | None = None
    effective_gas_price: int | None = None
    cost_wei: int | None = None
    sent_at: str | None = None
    mined_at: str | None = None

    @property
    def hashes(self) -> list[str]:
        found = [attempt.tx_hash for attempt in self.attempts]
        if self.tx_hash and self.tx_hash not in found:
            found.append(self.tx_hash)
        return found


class ContractRecord(BaseModel):
    """A contract this deployment created on one chain."""

    name: str
    address: str
    tx_hash: str | None = None
    block_number: int | None = None
    nonce: int | None = None
    local_only: bool = False
    args: list[Any] = Field(default_factory=list)
    verified: bool | None = None
    verified_at: str | None = None
    explorer_url: str | None = None


class SafeRecord(BaseModel):
    """The Safe multisig that holds the admin roles after handover."""

    address: str
    owners: list[str] = Field(default_factory=list)
    threshold: int | None = None
    deployed_by_sphinxctl: bool = False
    explorer_url: str | None = None
    checked_at: str | None = None


class ChainJournal(BaseModel):
    chain_id: int
    genesis_hash: str | None = None
    deployer: str
    transactions: list[TxRecord] = Field(default_factory=list)
    contracts: dict[str, ContractRecord] = Field(default_factory=dict)
    safe: SafeRecord | None = None
    handed_over: bool = False
    handed_over_at: str | None = None
    reconciled_at: str | None = None

    def by_intent(self, intent: str) -> TxRecord | None:
        """The latest record of an intent (an earlier one may have reverted)."""
        found = [tx for tx in self.transactions if tx.intent == intent]
        return found[-1] if found else None

    def next_nonce(self) -> int:
        return max((tx.nonce for tx in self.transactions), default=-1) + 1


class JournalDocument(BaseModel):
    format: int = FORMAT
    environment: str
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)
    chains: dict[str, ChainJournal] = Field(default_factory=dict)


def journal_path(project_root: Path, env: str) -> Path:
    return project_root / DEPLOYMENTS_DIR / f"{env}.json"


def read_document(path: Path) -> JournalDocument | None:
    """Parse a journal file; None when it does not exist. A corrupt file is a ChainError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = JournalDocument.model_validate_json(data)
    except ValidationError as exc:
        raise ChainError(
            f"the deployment journal {path} is unreadable ({exc.error_count()} problems)",
            hint=f"move it aside (mv {path} {path}.bad) and rebuild it from the chains with "
            "`sphinxctl deploy status --reconcile`",
            reference="journal-corrupt",
        ) from None
    if document.format != FORMAT:
        raise ChainError(
            f"{path} has journal format {document.format}; this sphinxctl reads format {FORMAT}",
            reference="journal-format",
        )
    return document


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text`: write a sibling temp file, fsync it, rename, fsync the dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Journal:
    """The journal of one environment, shared by the per-chain threads of a deployment."""

    def __init__(self, path: Path, document: JournalDocument) -> None:
        self.path = path
        self.document = document
        self._lock = threading.RLock()

    @classmethod
    def open(cls, project_root: Path, env: str) -> Journal:
        path = journal_path(project_root, env)
        document = read_document(path) or JournalDocument(environment=env)
        return cls(path, document)

    def chain(self, name: str) -> ChainJournal | None:
        return self.document.chains.get(name)

    @contextlib.contextmanager
    def edit(self) -> Iterator[JournalDocument]:
        """Mutate the document under the lock; the file is rewritten atomically on exit."""
        with self._lock:
            yield self.document
            self.save()

    def save(self) -> None:
        with self._lock:
            self.document.updated_at = now()
            atomic_write(self.path, self.document.model_dump_json(indent=2) + "\n")

    def archive_chains(self, chains: list[str], reason: str) -> Path:
        """Copy the journal aside (`<env>.<timestamp>.<reason>.json`), then drop the sections
        of `chains` (a reset devnet no longer has what they recorded)."""
        with self._lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            target = self.path.with_name(f"{self.path.stem}.{stamp}.{reason}.json")
            atomic_write(target, self.document.model_dump_json(indent=2) + "\n")
            for chain in chains:
                self.document.chains.pop(chain, None)
            self.save()
            return target


class ExclusiveLock:
    """An exclusive per-environment lock file under `.sphinxctl/` (released by the OS even on
    kill -9); the holder's pid is written into it so a refused run can name it."""

    def __init__(self, path: Path, doing: str, reference: str) -> None:
        self.path = path
        self._doing = doing
        self._reference = reference
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ChainError(
                f"another sphinxctl is {self._doing} (pid {holder})",
                hint="wait for it to finish; a crashed run releases the lock automatically",
                reference=self._reference,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class JournalLock(ExclusiveLock):
    """One deployment of an environment at a time."""

    def __init__(self, project_root: Path, env: str) -> None:
        super().__init__(
            project_root / ".sphinxctl" / f"deploy-{env}.lock",
            "deploying this environment",
            "deploy-locked",
        )


def dumps(document: JournalDocument) -> str:
    """The canonical JSON text of a document (used by tests and reconcile diffs)."""
    return json.dumps(document.model_dump(mode="json"), indent=2)
