"""`deploy status`: the journal joined with live chain data (head, confirmations, code, role
holders), and `--reconcile`, which first rebuilds the journal from the chains."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from sphinxctl.chains.reads import has_code
from sphinxctl.chains.registry import explorer_base, select_chains, verify_url
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.deploy.journal import PENDING, ChainJournal, Journal, JournalLock
from sphinxctl.deploy.plan import ROLE_CONTRACTS
from sphinxctl.deploy.reconcile import reconcile_chain
from sphinxctl.deploy.roles import role_holders
from sphinxctl.errors import ChainError, ConfigError
from sphinxctl.settings import ChainSettings, Settings


class ContractStatus(BaseModel):
    name: str
    address: str
    tx_hash: str | None
    block_number: int | None
    confirmations: int | None
    code_present: bool | None
    verified: bool | None
    explorer_url: str | None
    verify_url: str | None = None
    local_only: bool
    roles: dict[str, list[str]] = Field(default_factory=dict)


class ChainStatus(BaseModel):
    chain: str
    chain_id: int
    deployer: str
    head: int | None = None
    deployer_nonce: int | None = None
    journaled_transactions: int
    pending_transactions: int
    contracts: list[ContractStatus]
    safe: str | None
    handed_over: bool
    error: str | None = None


class StatusReport(BaseModel):
    environment: str
    journal: str
    reconciled: list[str] | None = None
    chains: list[ChainStatus]


def _chain_status(
    client: ChainClient, name: str, jc: ChainJournal, explorer: str | None = None
) -> ChainStatus:
    status = ChainStatus(
        chain=name,
        chain_id=jc.chain_id,
        deployer=jc.deployer,
        journaled_transactions=len(jc.transactions),
        pending_transactions=sum(1 for tx in jc.transactions if tx.status in PENDING),
        contracts=[],
        safe=jc.safe.address if jc.safe else None,
        handed_over=jc.handed_over,
    )
    try:
        status.head = client.block_number()
        status.deployer_nonce = client.nonce(jc.deployer, "latest")
    except ChainError as exc:
        status.error = exc.message
    for contract in jc.contracts.values():
        entry = ContractStatus(
            name=contract.name,
            address=contract.address,
            tx_hash=contract.tx_hash,
            block_number=contract.block_number,
            confirmations=None,
            code_present=None,
            verified=contract.verified,
            explorer_url=contract.explorer_url,
            verify_url=verify_url(explorer, contract.address) if not contract.local_only else None,
            local_only=contract.local_only,
        )
        if status.error is None and status.head is not None:
            try:
                if contract.block_number is not None:
                    entry.confirmations = max(0, status.head - contract.block_number + 1)
                entry.code_present = has_code(client.code(contract.address))
                if contract.name in ROLE_CONTRACTS and entry.code_present:
                    entry.roles = role_holders(client, contract.address, contract.block_number or 0)
            except ChainError as exc:
                status.error = exc.message
        status.contracts.append(entry)
    return status


def deployment_status(
    settings: Settings,
    project_root: Path,
    *,
    chains: list[str] | None = None,
    reconcile: bool = False,
) -> StatusReport:
    """Per chain and contract: address, tx, block, confirmations, verified, explorer, roles."""
    selected = select_chains(settings, chains)
    clients = {chain.name: ChainClient(chain) for chain in selected}
    notes: list[str] | None = None
    if reconcile:
        notes = _reconcile(settings, project_root, selected, clients)
    journal = Journal.open(project_root, settings.environment)
    present = [chain for chain in selected if journal.chain(chain.name) is not None]

    def one(chain: ChainSettings) -> ChainStatus:
        jc = journal.chain(chain.name)
        assert jc is not None
        explorer = explorer_base(chain, settings.environment)
        return _chain_status(clients[chain.name], chain.name, jc, explorer)

    with ThreadPoolExecutor(max_workers=max(1, len(present))) as pool:
        found = list(pool.map(one, present))
    return StatusReport(
        environment=settings.environment,
        journal=str(journal.path),
        reconciled=notes,
        chains=found,
    )


def _reconcile(
    settings: Settings,
    project_root: Path,
    selected: list[ChainSettings],
    clients: dict[str, ChainClient],
) -> list[str]:
    from sphinxctl.chains.signer import deployer_address
    from sphinxctl.deploy.safe import load_safe_artifacts
    from sphinxctl.solidity.compiler import compile_contracts

    artifacts = dict(compile_contracts(project_root).artifacts)
    with contextlib.suppress(ConfigError):  # the Safe artifacts are optional here
        artifacts.update(load_safe_artifacts(project_root))
    with JournalLock(project_root, settings.environment):
        journal = Journal.open(project_root, settings.environment)
        notes: list[str] = []

        def one(chain: ChainSettings) -> tuple[str, ChainJournal, list[str]]:
            existing = journal.chain(chain.name)
            deployer = existing.deployer if existing else None
            if deployer is None:
                deployer = deployer_address(settings.deployer, project_root)
            section, found = reconcile_chain(
                clients[chain.name], chain, settings.environment, deployer, artifacts, existing
            )
            return chain.name, section, found

        with ThreadPoolExecutor(max_workers=max(1, len(selected))) as pool:
            results = list(pool.map(one, selected))
        with journal.edit() as doc:
            for name, section, found in results:
                if section.transactions or name in doc.chains:
                    doc.chains[name] = section
                notes += found
        if not notes:
            notes.append("the journal already matches the chains")
        return notes
