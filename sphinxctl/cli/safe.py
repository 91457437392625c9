"""`sphinxctl safe`: operate the contracts through the Safe multisig once it holds the admin
roles — propose an action, sign it as an owner, see where it stands, execute it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.table import Table

    from sphinxctl.safe.audit import Actor
    from sphinxctl.safe.execute import ExecutePreview, ExecuteResult
    from sphinxctl.safe.keys import OwnerKey
    from sphinxctl.safe.operations import ProposalStatus

app = typer.Typer(help="Propose, sign and execute Safe transactions.", no_args_is_help=True)

KEY_ENV_HELP = "Name of the environment variable holding the key (its value is never shown)."
DELEGATE_HELP = "Allow operation DELEGATECALL (the Safe runs the target's code as itself)."
# Test hook (fault injection): `<point>:<n>` kills the process at the n-th checkpoint.
CRASH_OPTION = typer.Option(None, "--crash-at", hidden=True, envvar="SPHINXCTL_TEST_CRASH_AT")


def _actor() -> Actor:
    from sphinxctl.cli.audit_sink import OPERATOR_ROLE, local_operator
    from sphinxctl.safe.audit import Actor

    return Actor(name=local_operator(), role=OPERATOR_ROLE)


def _secret_from_env(name: str) -> Any:
    from pydantic import SecretStr

    from sphinxctl.errors import UsageError

    value = os.environ.get(name)
    if not value:
        raise UsageError(f"the environment variable {name} is not set or empty")
    return SecretStr(value)


def _owner_key(keystore: str | None, key_env: str | None, password_env: str | None) -> OwnerKey:
    from pathlib import Path

    from pydantic import SecretStr

    from sphinxctl.errors import UsageError
    from sphinxctl.safe.keys import key_from_keystore, key_from_secret

    if (keystore is None) == (key_env is None):
        raise UsageError("give exactly one of --keystore FILE or --key-env VAR")
    if key_env is not None:
        return key_from_secret(_secret_from_env(key_env), f"${key_env}")
    assert keystore is not None
    if password_env is not None:
        password = _secret_from_env(password_env)
    else:
        from sphinxctl.cli.deploy_view import interactive

        if not interactive():
            raise UsageError("the keystore needs its password: pass --password-env VAR")
        password = SecretStr(typer.prompt("keystore password", hide_input=True, err=True))
    return key_from_keystore(Path(keystore), password)


def _proposal_table(rows: list[ProposalStatus]) -> Table:
    from rich.table import Table

    table = Table("proposal", "chain", "does", "call", "nonce", "signatures", "state")
    for row in rows:
        signed = f"{len(row.signed_by)}/{row.threshold}"
        state = row.state + (f" ({'; '.join(row.problems)})" if row.problems else "")
        table.add_row(
            row.id, row.chain, row.description, row.decoded, str(row.nonce), signed, state
        )
    return table


@app.command()
def propose(
    ctx: typer.Context,
    action: str = typer.Argument(..., help="pause, unpause, emergency-shutdown, grant-role, ..."),
    args: list[str] = typer.Argument(None, help="The action's arguments (contract first)."),
    chain: str = typer.Option(..., "--chain", "-c", help="The chain whose Safe acts."),
    delegatecall: bool = typer.Option(False, "--delegatecall", help=DELEGATE_HELP),
    nonce: int | None = typer.Option(None, "--nonce", help="Queue at this Safe nonce."),
) -> None:
    """Build the Safe transaction of an admin action and write its proposal file."""
    from sphinxctl.cli.audit_sink import ready_store
    from sphinxctl.safe.context import open_context
    from sphinxctl.safe.operations import ProposeRequest
    from sphinxctl.safe.operations import propose as run

    state = get_state(ctx)
    context = open_context(state.settings(), state.project_root, chain)
    request = ProposeRequest(
        chain=chain, action=action, args=args or [], delegatecall=delegatecall, nonce=nonce
    )
    with ready_store(state, refusing="nothing was proposed") as store:
        proposal, path = run(context, request, _actor(), store)
    state.err.print(f"proposal written to {path}", markup=False, highlight=False)
    emit(state, proposal, lambda: _proposal_view(proposal))


def _proposal_view(proposal: Any) -> Table:
    from rich.table import Table

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


@app.command()
def sign(
    ctx: typer.Context,
    proposal: str = typer.Argument(..., help="Proposal id or file."),
    keystore: str | None = typer.Option(None, "--keystore", help="An owner's keystore file."),
    key_env: str | None = typer.Option(None, "--key-env", help=KEY_ENV_HELP),
    password_env: str | None = typer.Option(
        None, "--password-env", help="Variable holding the keystore password (else a prompt)."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Check the owner against the proposal's owner list only."
    ),
    delegatecall: bool = typer.Option(False, "--delegatecall", help=DELEGATE_HELP),
) -> None:
    """Add an owner's EIP-712 signature to a proposal file."""
    from sphinxctl.cli.audit_sink import ready_store
    from sphinxctl.safe.context import context_for_proposal
    from sphinxctl.safe.operations import sign as run

    state = get_state(ctx)
    key = _owner_key(keystore, key_env, password_env)
    context = context_for_proposal(state.settings(), state.project_root, proposal)
    with ready_store(state, refusing="nothing was signed") as store:
        result = run(
            context, proposal, key, _actor(), store, offline=offline, delegatecall=delegatecall
        )
    done = "already signed" if result.already_signed else "signed"
    state.err.print(
        f"{result.signer} {done}: {result.signatures}/{result.threshold} signatures",
        markup=False,
        highlight=False,
    )
    emit(state, result, lambda: _proposal_view(result.proposal))


@app.command()
def status(
    ctx: typer.Context,
    proposal: str | None = typer.Argument(None, help="Proposal id or file (default: all)."),
) -> None:
    """Signatures against the threshold, the Safe's nonce, stale or tampered proposals."""
    from sphinxctl.safe.context import open_context
    from sphinxctl.safe.files import list_proposals, proposal_path, read_proposal
    from sphinxctl.safe.operations import status as run

    state = get_state(ctx)
    settings, root = state.settings(), state.project_root
    env = settings.environment
    paths = [proposal_path(root, env, proposal)] if proposal else list_proposals(root, env)
    chains = {read_proposal(path).chain for path in paths}
    contexts = {c: open_context(settings, root, c) for c in chains if c in settings.chains}
    rows = run(contexts, root, env, proposal)
    emit(state, rows, lambda: _proposal_table(rows))


def _executor(key_env: str | None, state: CliState) -> Any:
    from sphinxctl.chains.signer import Signer, load_signer

    if key_env is None:
        return load_signer(state.settings().deployer, state.project_root)
    from eth_account import Account

    from sphinxctl.safe.keys import key_from_secret

    key_from_secret(_secret_from_env(key_env), f"${key_env}")  # validates, names the source
    return Signer(Account.from_key(_secret_from_env(key_env).get_secret_value().strip()))


def _confirm(state: CliState, yes: bool) -> Any:
    from sphinxctl.cli.deploy_view import interactive
    from sphinxctl.errors import ConfirmationRequired

    def confirm(preview: ExecutePreview) -> bool:
        state.err.print(
            f"{preview.chain}: the Safe {preview.safe} will {preview.description}\n"
            f"  call {preview.decoded}\n  sent by {preview.executor}, gas limit "
            f"{preview.gas_limit}, at most {preview.max_cost_wei / 1e18:.6f} native",
            markup=False,
            highlight=False,
        )
        if yes:
            return True
        if not interactive():
            raise ConfirmationRequired(
                "no terminal is attached to confirm the execution; nothing was signed",
                hint="check it with --dry-run, then pass --yes",
            )
        return bool(typer.confirm("Execute?", default=False, err=True))

    return confirm


def _result_view(result: ExecuteResult) -> Table:
    from rich.table import Table

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


@app.command()
def execute(
    ctx: typer.Context,
    proposal: str = typer.Argument(..., help="Proposal id or file."),
    key_env: str | None = typer.Option(
        None, "--key-env", help="Variable holding the sender's key (default: the deployer)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Confirm without a prompt (CI)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and simulate only."),
    delegatecall: bool = typer.Option(False, "--delegatecall", help=DELEGATE_HELP),
    crash_at: str | None = CRASH_OPTION,
) -> None:
    """Send execTransaction once the threshold is met (journaled; a rerun resumes)."""
    from sphinxctl.cli.audit_sink import ready_store
    from sphinxctl.deploy.faults import Faults
    from sphinxctl.safe.context import context_for_proposal
    from sphinxctl.safe.execute import execute as run

    state = get_state(ctx)
    faults = Faults(crash_at)
    context = context_for_proposal(state.settings(), state.project_root, proposal)
    executor = _executor(key_env, state)
    with ready_store(state, refusing="nothing was sent") as store:
        result = run(
            context,
            proposal,
            executor,
            _actor(),
            store,
            delegatecall=delegatecall,
            dry_run=dry_run,
            confirm=_confirm(state, yes),
            faults=faults,
        )
    emit(state, result, lambda: _result_view(result))
