"""Proposal files under `deployments/<env>/safe/`: written atomically (temp file, fsync,
rename), read back strictly, and an exclusive lock for executing them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import ValidationError

from sphinxctl.deploy.journal import DEPLOYMENTS_DIR, ExclusiveLock, atomic_write
from sphinxctl.errors import ChainError, UsageError
from sphinxctl.safe.model import FORMAT, Proposal
from sphinxctl.settings.paths import project_path

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")


def proposals_dir(project_root: Path, env: str) -> Path:
    return project_root / DEPLOYMENTS_DIR / env / "safe"


def proposal_path(project_root: Path, env: str, ref: str) -> Path:
    """A proposal named by its id, or by a path to its file."""
    candidate = Path(ref)
    if candidate.suffix == ".json" or os.sep in ref:
        return project_path(Path.cwd(), candidate)  # a file named on the command line
    if not _ID.match(ref):
        raise UsageError(f"{ref!r} is neither a proposal id nor a proposal file")
    return proposals_dir(project_root, env) / f"{ref}.json"


def write_proposal(path: Path, proposal: Proposal) -> None:
    atomic_write(path, proposal.model_dump_json(indent=2) + "\n")


def read_proposal(path: Path) -> Proposal:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"no proposal file {path}",
            hint="list proposals with `sphinxctl safe status`",
            reference="proposal-missing",
        ) from None
    try:
        proposal = Proposal.model_validate_json(data)
    except ValidationError as exc:
        raise ChainError(
            f"the proposal file {path} is malformed ({exc.error_count()} problems)",
            hint="propose the action again; a file edited by hand is not signed or executed",
            reference="proposal-malformed",
        ) from None
    if proposal.format != FORMAT:
        raise ChainError(f"{path} has proposal format {proposal.format}; expected {FORMAT}")
    return proposal


def list_proposals(project_root: Path, env: str) -> list[Path]:
    directory = proposals_dir(project_root, env)
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


class ProposalLock(ExclusiveLock):
    """One `safe execute` / `safe sign` at a time per environment."""

    def __init__(self, project_root: Path, env: str) -> None:
        super().__init__(
            project_root / ".sphinxctl" / f"safe-{env}.lock",
            "signing or executing a Safe proposal of this environment",
            "safe-locked",
        )
