"""`sphinxctl deploy`: deploy the contracts, show and reconcile their status, verify their
bytecode, hand the admin roles over to the Safe. With database.url set, `contracts` and
`handover` record every transaction in the audit trail (sphinxctl.cli.deploy_audit)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphinxctl.cli.context import CliState, get_state
from sphinxctl.cli.options import ConfirmCI, CrashAt, DryRunCost
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from sphinxctl.deploy.deployment import DeployRequest

app = typer.Typer(help="Deploy, verify and hand over the contracts.", no_args_is_help=True)

CHAIN_HELP = "Comma-separated chains (default: every configured chain), e.g. ethereum,polygon."
Chains = Annotated[str | None, typer.Option("--chain", "-c", help=CHAIN_HELP)]


def _request(
    state: CliState, chain: str | None, dry_run: bool, crash_at: str | None
) -> DeployRequest:
    from pydantic import SecretStr

    from sphinxctl.chains.registry import parse_chain_option
    from sphinxctl.chains.signer import needs_password
    from sphinxctl.cli.prompts import interactive, secret
    from sphinxctl.deploy.deployment import DeployRequest

    password = None
    if needs_password(state.settings().deployer) and interactive():
        password = SecretStr(secret("deployer keystore password"))
    return DeployRequest(
        project_root=state.project_root,
        chains=parse_chain_option(chain),
        dry_run=dry_run,
        crash_at=crash_at,
        password=password,
    )


def _run_journaled(
    state: CliState,
    action: str,
    run: Callable[..., Any],
    chain: str | None,
    yes: bool,
    dry_run: bool,
    crash_at: str | None,
) -> None:
    """Run a journaled transaction plan (deployment or handover): audit trail first (a database
    that is down stops it here, before anything is signed), then preview, one confirmation,
    progress on stderr, the result on stdout."""
    from sphinxctl.cli.deploy_view import DeployProgress, make_confirm, result_table
    from sphinxctl.deploy.audit import open_deploy_audit

    settings = state.settings()
    show_preview = not dry_run or state.output != "table"
    warn = lambda text: state.err.print(f"warning: {text}", markup=False, highlight=False)  # noqa: E731
    with open_deploy_audit(settings, state.project_root, action, warn=warn) as audit:
        request = _request(state, chain, dry_run, crash_at)
        with DeployProgress(state.err, show_preview=show_preview) as progress:
            result = run(
                settings,
                request,
                on_event=progress,
                confirm=make_confirm(settings.environment, yes),
                audit=audit,
            )
    emit(state, result, lambda: result_table(result))
    audit.require_complete()


@app.command()
def contracts(
    ctx: typer.Context,
    chain: Chains = None,
    yes: ConfirmCI = False,
    dry_run: DryRunCost = False,
    crash_at: CrashAt = None,
) -> None:
    """Preflight every chain, show one cost table, confirm once, deploy chains in parallel."""
    from sphinxctl.deploy.deployment import deploy_contracts

    _run_journaled(get_state(ctx), "deploy.contracts", deploy_contracts, chain, yes, dry_run,
                   crash_at)  # fmt: skip


@app.command()
def status(
    ctx: typer.Context,
    chain: Chains = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile", help="First rebuild the journal from the chains (nonces and code)."
        ),
    ] = False,
) -> None:
    """Per chain and contract: address, tx, block, confirmations, verified, explorer, roles."""
    from sphinxctl.chains.registry import parse_chain_option
    from sphinxctl.cli.deploy_view import status_table
    from sphinxctl.deploy.status import deployment_status

    state = get_state(ctx)
    report = deployment_status(
        state.settings(), state.project_root, chains=parse_chain_option(chain), reconcile=reconcile
    )
    emit(state, report, lambda: status_table(report))


@app.command()
def verify(
    ctx: typer.Context,
    chain: Chains = None,
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            help="Write explorer/Sourcify verification files here and check they reproduce the "
            "deployed code.",
        ),
    ] = None,
) -> None:
    """Compare each contract's runtime code with its artifact (immutables masked)."""
    from sphinxctl.chains.registry import parse_chain_option
    from sphinxctl.cli.deploy_view import DeployProgress, sources_table, verify_table

    state = get_state(ctx)
    if sources is not None:
        from sphinxctl.deploy.sources import write_sources

        written = write_sources(
            state.settings(), state.project_root, sources.resolve(), parse_chain_option(chain)
        )
        emit(state, written, lambda: sources_table(written))
        return
    from sphinxctl.deploy.deployment import deploy_verify

    with DeployProgress(state.err) as progress:
        report = deploy_verify(
            state.settings(), state.project_root, parse_chain_option(chain), on_event=progress
        )
    emit(state, report, lambda: verify_table(report))


@app.command()
def handover(
    ctx: typer.Context,
    to_safe: Annotated[
        bool,
        typer.Option(
            "--to-safe", help="Grant the admin roles to the configured Safe and renounce them."
        ),
    ] = False,
    chain: Chains = None,
    yes: ConfirmCI = False,
    dry_run: DryRunCost = False,
    crash_at: CrashAt = None,
) -> None:
    """Hand DEFAULT_ADMIN_ROLE and ADMIN_ROLE to the Safe; the deployer renounces every role."""
    from sphinxctl.deploy.handover import handover_to_safe
    from sphinxctl.errors import UsageError

    if not to_safe:
        raise UsageError("say where the roles go", hint="sphinxctl deploy handover --to-safe")
    _run_journaled(get_state(ctx), "deploy.handover", handover_to_safe, chain, yes, dry_run,
                   crash_at)  # fmt: skip
