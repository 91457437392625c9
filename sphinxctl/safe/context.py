"""Where a Safe transaction lives: the chain, the Safe's address, the contracts' addresses and
ABIs; reading the Safe (owners, threshold, nonce); checking a proposal's integrity."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sphinxctl.errors import ChainError, UsageError
from sphinxctl.safe.actions import SAFE, decode_call
from sphinxctl.safe.keys import recover
from sphinxctl.safe.model import DELEGATECALL, Proposal, safe_tx_hash

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient
    from sphinxctl.settings import ChainSettings, Settings


class SafeState(BaseModel):
    """The Safe as the chain sees it now."""

    address: str
    owners: list[str]
    threshold: int
    nonce: int


@dataclass
class SafeContext:
    """One chain of one environment, seen from its Safe."""

    settings: Settings
    project_root: Path
    chain: ChainSettings
    safe: str
    addresses: dict[str, str]
    abis: dict[str, list[dict[str, Any]]]
    _client: ChainClient | None = field(default=None, repr=False)

    @property
    def environment(self) -> str:
        return self.settings.environment

    def client(self) -> ChainClient:
        if self._client is None:
            from sphinxctl.chains.rpc import ChainClient

            self._client = ChainClient(self.chain, attempts=2)
        return self._client

    def contract_at(self, address: str) -> str | None:
        for name, where in self.addresses.items():
            if where.lower() == address.lower():
                return name
        return None

    def read_safe(self) -> SafeState:
        """Owners, threshold and nonce from the chain (ChainError when it is not a Safe)."""
        from sphinxctl.deploy.safe import inspect_safe, safe_nonce

        info = inspect_safe(self.client(), self.safe)
        if info.threshold is None:
            raise ChainError(
                f"{self.chain.name}: {self.safe} is not a Safe (no code, or it does not answer "
                "getOwners()/getThreshold())",
                hint="check deployments/<env>.json and multisig.safes",
                reference="safe-not-a-safe",
            )
        return SafeState(
            address=info.address,
            owners=info.owners,
            threshold=info.threshold,
            nonce=safe_nonce(self.client(), self.safe),
        )


def _abis(project_root: Path) -> dict[str, list[dict[str, Any]]]:
    from sphinxctl.deploy.safe import load_safe_artifacts
    from sphinxctl.solidity.artifacts import load_artifacts

    abis = {name: artifact.abi for name, artifact in load_artifacts(project_root).items()}
    abis[SAFE] = load_safe_artifacts(project_root)["Safe"].abi
    return abis


def open_context(settings: Settings, project_root: Path, chain: str) -> SafeContext:
    """The context of `chain` from the deployment record and the configuration."""
    from sphinxctl.deploy.records import load_record

    if chain not in settings.chains:
        raise UsageError(
            f"unknown chain {chain!r} for environment {settings.environment!r}",
            hint=f"one of: {', '.join(settings.chains)}",
        )
    record = load_record(project_root, settings.environment)
    deployment = record.chains.get(chain) if record else None
    safe = settings.multisig.safes.get(chain) or (deployment.safe_address if deployment else None)
    if safe is None:
        raise ChainError(
            f"{chain}: no Safe is recorded or configured for environment {settings.environment!r}",
            hint="run `sphinxctl deploy handover --to-safe`, or set multisig.safes.<chain>",
            reference="safe-not-configured",
        )
    addresses = {n: c.address for n, c in (deployment.contracts if deployment else {}).items()}
    addresses[SAFE] = safe
    return SafeContext(
        settings=settings,
        project_root=project_root,
        chain=settings.chains[chain],
        safe=safe,
        addresses=addresses,
        abis=_abis(project_root),
    )


def integrity_problems(ctx: SafeContext, proposal: Proposal) -> list[str]:
    """What makes a proposal file untrustworthy: its hash does not follow from its contents,
    a signature was not made by the owner it names over that hash, or its words do not
    describe its calldata. Empty when the file is as proposed and signed."""
    problems = []
    if proposal.environment != ctx.environment or proposal.chain_id != ctx.chain.chain_id:
        problems.append(
            f"it is for {proposal.environment}/{proposal.chain_id}, not "
            f"{ctx.environment}/{ctx.chain.chain_id}"
        )
    if proposal.safe.lower() != ctx.safe.lower():
        problems.append(f"its Safe {proposal.safe} is not this chain's Safe {ctx.safe}")
    digest = safe_tx_hash(proposal.tx, proposal.chain_id, proposal.safe)
    if digest != proposal.safe_tx_hash.lower():
        problems.append(f"its hash {proposal.safe_tx_hash} does not match its contents ({digest})")
    for entry in proposal.signatures:
        signer = recover(digest, entry.signature)
        if signer is None or signer.lower() != entry.owner.lower():
            problems.append(f"the signature of {entry.owner} is not over this transaction")
    target = ctx.contract_at(proposal.tx.to)
    if target is not None:
        decoded = decode_call(target, proposal.tx.data, ctx.abis.get(target, []))
        if decoded != proposal.decoded:
            problems.append(f"its decoded call says {proposal.decoded!r}, the data is {decoded!r}")
    return problems


def require_intact(ctx: SafeContext, proposal: Proposal) -> None:
    problems = integrity_problems(ctx, proposal)
    if problems:
        raise ChainError(
            f"proposal {proposal.id} was changed after it was made: {'; '.join(problems)}",
            hint="nothing was signed or sent; propose the action again and collect new signatures",
            reference="proposal-tampered",
        )


def require_delegatecall_ack(proposal: Proposal, allowed: bool) -> None:
    if proposal.tx.operation == DELEGATECALL and not allowed:
        raise UsageError(
            f"proposal {proposal.id} is a DELEGATECALL: the Safe would run {proposal.tx.to}'s "
            "code with its own storage and funds",
            hint="pass --delegatecall only if you mean exactly that",
            reference="delegatecall-refused",
        )


def context_for_proposal(settings: Settings, project_root: Path, ref: str) -> SafeContext:
    """The context of the chain a proposal file names."""
    from sphinxctl.safe.files import proposal_path, read_proposal

    proposal = read_proposal(proposal_path(project_root, settings.environment, ref))
    return open_context(settings, project_root, proposal.chain)
