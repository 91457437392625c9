"""Rendering for `sphinxctl safe`: a proposal, the proposals' status, an execution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from sphinxctl.safe.execute import ExecutePreview, ExecuteResult
    from sphinxctl.safe.model import Proposal
    from sphinxctl.safe.operations import ProposalStatus


def proposals_table(rows: list[ProposalStatus]) -> Table:
    table = Table("proposal", "chain", "does", "call", "nonce", "signatures", "state")
    for row in rows:
        signed = f"{len(row.signed_by)}/{row.threshold}"
        state = row.state + (f" ({'; '.join(row.problems)})" if row.problems else "")
        table.add_row(
            row.id, row.chain, row.description, row.decoded, str(row.nonce), signed, state
        )
    return table


def proposal_view(proposal: Proposal) -> Table:
    table = Table(show_header=False)
    for label, value in (
        ("proposal", proposal.id),
        ("does", proposal.description),
        ("call", proposal.decoded),
        ("operation", "DELEGATECALL" if proposal.tx.operation else "CALL"),
        ("safe", f"{proposal.safe} ({proposal.chain})"),
        ("nonce", str(proposal.tx.nonce)),
        ("safe tx hash", proposal.safe_tx_hash),
        ("signatures", f"{len(proposal.signatures)}/{proposal.threshold}"),
    ):
        table.add_row(label, value)
    return table


def preview_text(preview: ExecutePreview) -> str:
    """What an execution will do, shown before its confirmation."""
    return (
        f"{preview.chain}: the Safe {preview.safe} will {preview.description}\n"
        f"  call {preview.decoded}\n  sent by {preview.executor}, gas limit "
        f"{preview.gas_limit}, at most {preview.max_cost_wei / 1e18:.6f} native"
    )


def result_view(result: ExecuteResult) -> Table:
    table = Table(show_header=False)
    table.add_row("proposal", result.proposal)
    table.add_row("does", result.description)
    table.add_row("call", result.decoded)
    if result.dry_run:
        table.add_row("dry run", "checks and simulation passed; nothing was signed")
    else:
        table.add_row("transaction", f"{result.tx_hash} (block {result.block_number})")
        table.add_row("succeeded", str(result.success))
        table.add_row("events", ", ".join(result.events))
    return table
