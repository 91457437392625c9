"""`sphinxctl devnet`: the local three-chain anvil devnet (up, down, status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.chains.devnet import DevnetStatus

app = typer.Typer(help="Run the local three-chain anvil devnet.", no_args_is_help=True)


@app.command()
def up(ctx: typer.Context) -> None:
    """Start one anvil node per chain (idempotent) and wait until each answers."""
    from sphinxctl.chains.devnet import devnet_up

    state = get_state(ctx)
    status = devnet_up(state.settings(), state.project_root, notify=state.err.print)
    emit(state, status, lambda: devnet_table(status))


@app.command()
def down(
    ctx: typer.Context,
    wipe: Annotated[bool, typer.Option("--wipe", help="Also delete chain state and logs.")] = False,
) -> None:
    """Stop the devnet's nodes (state is saved unless --wipe)."""
    from sphinxctl.chains.devnet import devnet_down

    state = get_state(ctx)
    status = devnet_down(state.settings(), state.project_root, wipe=wipe, notify=state.err.print)
    emit(state, status, lambda: devnet_table(status))


@app.command()
def status(ctx: typer.Context) -> None:
    """Show each node: running or not, pid, port, block height."""
    from sphinxctl.chains.devnet import devnet_status

    state = get_state(ctx)
    report = devnet_status(state.settings(), state.project_root)
    emit(state, report, lambda: devnet_table(report))


def devnet_table(status: DevnetStatus) -> RenderableType:
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0), pad_edge=False)
    for column in ("chain", "chain id", "url", "state", "pid", "block"):
        table.add_column(column, no_wrap=True)
    table.add_column("note")
    for node in status.nodes:
        state = "[green]running[/green]" if node.running else "[red]stopped[/red]"
        table.add_row(
            node.chain,
            str(node.chain_id),
            node.url,
            state,
            str(node.pid or "-"),
            str(node.block_number if node.block_number is not None else "-"),
            node.note or "",
        )
    return Group(Text(f"devnet — state, logs and pids in {status.state_dir}", style="bold"), table)
