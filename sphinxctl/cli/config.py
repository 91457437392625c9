"""`sphinxctl config`: show and validate an environment's configuration."""

from __future__ import annotations

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.render import emit

app = typer.Typer(help="Show and validate an environment's configuration.", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context) -> None:
    """Print the resolved configuration (secrets redacted as ********)."""
    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    emit(state, state.settings())


@app.command()
def validate(ctx: typer.Context) -> None:
    """Load the environment strictly: every variable set, every key known and well-typed."""
    state = get_state(ctx)
    loaded = state.loaded()
    settings = loaded.settings
    chains = {name: chain.chain_id for name, chain in settings.chains.items()}
    result = {
        "environment": settings.environment,
        "file": str(loaded.path),
        "valid": True,
        "chains": chains,
    }
    listed = ", ".join(f"{n} ({c})" for n, c in chains.items())
    emit(state, result, lambda: f"[green]✓[/green] {loaded.path} is valid — chains: {listed}")
