"""The write-ahead journal: atomic rewrites, a corrupt file is named with a way out, one
deployment per environment at a time, the read-side record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sphinxctl.deploy.journal import (
    Attempt,
    ChainJournal,
    ContractRecord,
    Journal,
    JournalLock,
    SafeRecord,
    TxRecord,
    atomic_write,
    journal_path,
    read_document,
)
from sphinxctl.deploy.records import load_record
from sphinxctl.errors import ChainError

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _record(nonce: int, status: str = "confirmed", **extra: object) -> TxRecord:
    return TxRecord(
        nonce=nonce,
        intent=f"deploy:C{nonce}",
        kind="deploy",
        contract=f"C{nonce}",
        status=status,
        attempts=[Attempt(tx_hash=f"0x{nonce:064x}", raw="0x02f8", gas_limit=100)],
        tx_hash=f"0x{nonce:064x}",
        **extra,
    )


def _journal_with_two_chains(root: Path) -> Journal:
    journal = Journal.open(root, "local")
    with journal.edit() as doc:
        doc.chains["ethereum"] = ChainJournal(
            chain_id=1,
            genesis_hash="0xg",
            deployer=DEPLOYER,
            transactions=[_record(0), _record(1), _record(2, status="sent")],
            contracts={
                "C0": ContractRecord(name="C0", address="0x" + "11" * 20, nonce=0, verified=True),
                "C2": ContractRecord(name="C2", address="0x" + "22" * 20, nonce=2),
            },
            safe=SafeRecord(address="0x" + "33" * 20),
        )
        doc.chains["polygon"] = ChainJournal(chain_id=137, deployer=DEPLOYER)
    return journal


def test_every_edit_is_persisted_and_reads_back_identically(tmp_path: Path) -> None:
    journal = _journal_with_two_chains(tmp_path)
    again = read_document(journal_path(tmp_path, "local"))
    assert again is not None
    assert again.model_dump() == journal.document.model_dump()
    assert again.chains["ethereum"].next_nonce() == 3
    assert again.chains["ethereum"].by_intent("deploy:C1") is not None
    assert not list((tmp_path / "deployments").glob("*.tmp"))


def test_atomic_write_replaces_the_whole_file_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deployments" / "local.json"
    atomic_write(path, '{"old": true}')

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(path, '{"new": true}')
    assert json.loads(path.read_text()) == {"old": True}


def test_a_corrupt_journal_is_refused_with_a_way_out(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "local")
    path.parent.mkdir()
    path.write_text('{"format": 1, "environment": "local", "chains": {"x": {"chain_id": "nope"}}}')
    with pytest.raises(ChainError) as caught:
        read_document(path)
    assert caught.value.reference == "journal-corrupt"
    assert "--reconcile" in (caught.value.hint or "")


def test_only_one_deployment_of_an_environment_runs_at_a_time(tmp_path: Path) -> None:
    with JournalLock(tmp_path, "local"):
        with pytest.raises(ChainError) as caught, JournalLock(tmp_path, "local"):
            pass
        assert caught.value.reference == "deploy-locked"
        assert str(os.getpid()) in caught.value.message
        with JournalLock(tmp_path, "testnet"):  # other environments are independent
            pass
    with JournalLock(tmp_path, "local"):  # released
        pass


def test_archiving_a_reset_chain_keeps_a_copy_and_the_other_chains(tmp_path: Path) -> None:
    journal = _journal_with_two_chains(tmp_path)
    saved = journal.archive_chains(["ethereum"], "reset")
    assert "ethereum" in json.loads(saved.read_text())["chains"]
    current = read_document(journal_path(tmp_path, "local"))
    assert current is not None and list(current.chains) == ["polygon"]


def test_the_record_lists_confirmed_contracts_and_the_safe(tmp_path: Path) -> None:
    assert load_record(tmp_path, "local") is None
    _journal_with_two_chains(tmp_path)
    record = load_record(tmp_path, "local")
    assert record is not None
    ethereum = record.chains["ethereum"]
    assert set(ethereum.contracts) == {"C0"}  # C2's creation is still pending
    assert ethereum.contracts["C0"].verified is True
    assert ethereum.safe_address == "0x" + "33" * 20
    assert (ethereum.transactions, ethereum.pending_transactions) == (3, 1)
    assert record.address_of("ethereum", "C0") == "0x" + "11" * 20
    assert record.contract("arbitrum", "C0") is None
