"""Read side of deployments: what is deployed where, for the API server and the checklist.

    from sphinxctl.deploy.records import load_record

    record = load_record(project_root, "mainnet")     # None when nothing was ever deployed
    if record is not None:
        nft = record.contract("polygon", "SpaceFlightNFT")  # ContractInfo | None
        nft.address, nft.tx_hash, nft.block_number, nft.verified, nft.explorer_url
        record.chains["polygon"].safe_address            # Safe holding the admin roles, or None

Reads `deployments/<env>.json` (the journal `sphinxctl deploy` writes) without touching the
network and without importing web3. Only contracts whose creation is confirmed on chain appear;
`verified` is the result of the last bytecode check (`sphinxctl deploy verify`), None if never
checked. A corrupt journal raises ChainError (reference `journal-corrupt`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from sphinxctl.deploy.journal import FINAL_OK, PENDING, journal_path, read_document


class ContractInfo(BaseModel):
    """One deployed contract on one chain."""

    name: str
    address: str
    tx_hash: str | None
    block_number: int | None
    verified: bool | None
    explorer_url: str | None
    local_only: bool


class ChainDeployment(BaseModel):
    """What one chain holds."""

    chain: str
    chain_id: int
    deployer: str
    contracts: dict[str, ContractInfo]
    safe_address: str | None
    handed_over: bool
    transactions: int
    pending_transactions: int


class DeploymentRecord(BaseModel):
    """Every chain of one environment."""

    environment: str
    path: str
    updated_at: str
    chains: dict[str, ChainDeployment]

    def contract(self, chain: str, name: str) -> ContractInfo | None:
        deployment = self.chains.get(chain)
        return deployment.contracts.get(name) if deployment else None

    def address_of(self, chain: str, name: str) -> str | None:
        info = self.contract(chain, name)
        return info.address if info else None


def load_record(project_root: Path, env: str) -> DeploymentRecord | None:
    """The deployment record of `env` under `project_root`, or None when there is none."""
    path = journal_path(project_root, env)
    document = read_document(path)
    if document is None:
        return None
    chains: dict[str, ChainDeployment] = {}
    for name, chain in document.chains.items():
        mined = {tx.nonce for tx in chain.transactions if tx.status in FINAL_OK}
        contracts = {
            key: ContractInfo(
                name=contract.name,
                address=contract.address,
                tx_hash=contract.tx_hash,
                block_number=contract.block_number,
                verified=contract.verified,
                explorer_url=contract.explorer_url,
                local_only=contract.local_only,
            )
            for key, contract in chain.contracts.items()
            if contract.nonce is None or contract.nonce in mined
        }
        chains[name] = ChainDeployment(
            chain=name,
            chain_id=chain.chain_id,
            deployer=chain.deployer,
            contracts=contracts,
            safe_address=chain.safe.address if chain.safe else None,
            handed_over=chain.handed_over,
            transactions=len(chain.transactions),
            pending_transactions=sum(1 for tx in chain.transactions if tx.status in PENDING),
        )
    return DeploymentRecord(
        environment=document.environment,
        path=str(path),
        updated_at=document.updated_at,
        chains=chains,
    )
