"""`sphinxctl safe`: operate the contracts through the Safe multisig once it holds the admin
roles — propose an action, sign it as an owner, see where it stands, execute it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.options import ConfirmCI, CrashAt
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from pydantic import SecretStr

    from sphinxctl.chains.signer import Signer
    from sphinxctl.safe.audit import Actor
    from sphinxctl.safe.execute import ExecutePreview
    from sphinxctl.safe.keys import OwnerKey

app = typer.Typer(help="Propose, sign and execute Safe transactions.", no_args_is_help=True)

KEY_ENV_HELP = "Name of the environment variable holding the key (its value is never shown)."
DELEGATE_HELP = "Allow operation DELEGATECALL (the Safe runs the target's code as itself)."
Delegatecall = Annotated[bool, typer.Option("--delegatecall", help=DELEGATE_HELP)]
ProposalArg = Annotated[str, typer.Argument(help="Proposal id or file.")]


def _actor() -> Actor:
    from sphinxctl.cli.audit_sink import OPERATOR_ROLE, local_operator
    from sphinxctl.safe.audit import Actor

    return Actor(name=local_operator(), role=OPERATOR_ROLE)


def _secret_from_env(name: str) -> SecretStr:
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
        from sphinxctl.cli.prompts import interactive, secret

        if not interactive():
            raise UsageError("the keystore needs its password: pass --password-env VAR")
        password = SecretStr(secret("keystore password"))
    return key_from_keystore(Path(keystore), password)


@app.command()
def propose(
    ctx: typer.Context,
    action: Annotated[
        str, typer.Argument(help="pause, unpause, emergency-shutdown, grant-role, ...")
    ],
    chain: Annotated[str, typer.Option("--chain", "-c", help="The chain whose Safe acts.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="The action's arguments (contract first).")
    ] = None,
    delegatecall: Delegatecall = False,
    nonce: Annotated[int | None, typer.Option("--nonce", help="Queue at this Safe nonce.")] = None,
) -> None:
    """Build the Safe transaction of an admin action and write its proposal file."""
    from sphinxctl.cli.audit_sink import ready_store
    from sphinxctl.cli.safe_view import proposal_view
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
    emit(state, proposal, lambda: proposal_view(proposal))


@app.command()
def sign(
    ctx: typer.Context,
    proposal: ProposalArg,
    keystore: Annotated[
        str | None, typer.Option("--keystore", help="An owner's keystore file.")
    ] = None,
    key_env: Annotated[str | None, typer.Option("--key-env", help=KEY_ENV_HELP)] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env", help="Variable holding the keystore password (else a prompt)."
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Check the owner against the proposal's owner list only."),
    ] = False,
    delegatecall: Delegatecall = False,
) -> None:
    """Add an owner's EIP-712 signature to a proposal file."""
    from sphinxctl.cli.audit_sink import ready_store
    from sphinxctl.cli.safe_view import proposal_view
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
    emit(state, result, lambda: proposal_view(result.proposal))


@app.command()
def status(
    ctx: typer.Context,
    proposal: Annotated[
        str | None, typer.Argument(help="Proposal id or file (default: all).")
    ] = None,
) -> None:
    """Signatures against the threshold, the Safe's nonce, stale or tampered proposals."""
    from sphinxctl.cli.safe_view import proposals_table
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
    emit(state, rows, lambda: proposals_table(rows))


def _executor(key_env: str | None, state: CliState) -> Signer:
    from sphinxctl.chains.signer import load_signer
    from sphinxctl.safe.keys import key_from_secret

    if key_env is None:
        return load_signer(state.settings().deployer, state.project_root)
    return key_from_secret(_secret_from_env(key_env), f"${key_env}")


def _confirm(state: CliState, yes: bool, env: str) -> Callable[[ExecutePreview], bool]:
    from sphinxctl.cli.prompts import confirm
    from sphinxctl.cli.safe_view import preview_text

    def ask(preview: ExecutePreview) -> bool:
        state.err.print(preview_text(preview), markup=False, highlight=False)
        return confirm(
            "Execute?",
            yes=yes,
            env=env,
            unattended="no terminal is attached to confirm the execution; nothing was signed",
            hint="check it with --dry-run, then pass --yes",
        )

    return ask


@app.command()
def execute(
    ctx: typer.Context,
    proposal: ProposalArg,
    key_env: Annotated[
        str | None,
        typer.Option(
            "--key-env", help="Variable holding the sender's key (default: the deployer)."
        ),
    ] = None,
    yes: ConfirmCI = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and simulate only.")] = False,
    delegatecall: Delegatecall = False,
    crash_at: CrashAt = None,
) -> None:
    """Send execTransaction once the threshold is met (journaled; a rerun resumes)."""
    from sphinxctl.cli.audit_sink import ready_store
    from sphinxctl.cli.safe_view import result_view
    from sphinxctl.deploy.faults import Faults
    from sphinxctl.safe.context import context_for_proposal
    from sphinxctl.safe.execute import execute as run

    state = get_state(ctx)
    faults = Faults(crash_at)
    settings = state.settings()
    context = context_for_proposal(settings, state.project_root, proposal)
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
            confirm=_confirm(state, yes, settings.environment),
            faults=faults,
        )
    emit(state, result, lambda: result_view(result))
