"""`sphinxctl devnet`: the local three-chain anvil devnet (up, down, status)."""

from __future__ import annotations

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.render import emit

app = typer.Typer(help="Run the local three-chain anvil devnet.", no_args_is_help=True)


@app.command()
def up(ctx: typer.Context) -> None:
    """Start one anvil node per chain (idempotent) and wait until each answers."""
    from sphinxctl.chains.devnet import devnet_up
    from sphinxctl.cli.deploy_view import devnet_table

    state = get_state(ctx)
    status = devnet_up(state.settings(), state.project_root, notify=state.err.print)
    emit(state, status, lambda: devnet_table(status))


@app.command()
def down(
    ctx: typer.Context,
    wipe: bool = typer.Option(False, "--wipe", help="Also delete chain state and logs."),
) -> None:
    """Stop the devnet's nodes (state is saved unless --wipe)."""
    from sphinxctl.chains.devnet import devnet_down
    from sphinxctl.cli.deploy_view import devnet_table

    state = get_state(ctx)
    status = devnet_down(state.settings(), state.project_root, wipe=wipe, notify=state.err.print)
    emit(state, status, lambda: devnet_table(status))


@app.command()
def status(ctx: typer.Context) -> None:
    """Show each node: running or not, pid, port, block height."""
    from sphinxctl.chains.devnet import devnet_status
    from sphinxctl.cli.deploy_view import devnet_table

    state = get_state(ctx)
    report = devnet_status(state.settings(), state.project_root)
    emit(state, report, lambda: devnet_table(report))
