"""`sphinxctl contracts`: compile the Solidity contracts and list their artifacts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.table import Table

    from sphinxctl.solidity.artifacts import Artifact

app = typer.Typer(
    help="Compile the platform's Solidity contracts (py-solc-x; native solc or solc-js).",
    no_args_is_help=True,
)

EIP170_LIMIT = 24_576  # bytes of deployed code a contract may have on mainnet


def _rows(artifacts: dict[str, Artifact]) -> list[dict[str, Any]]:
    rows = []
    for name, artifact in sorted(artifacts.items()):
        size = (len(artifact.deployed_bytecode) - 2) // 2
        rows.append({"name": name, "source": artifact.source_path, "deployed_bytes": size})
    return rows


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("contract")
    table.add_column("source")
    table.add_column("deployed size", justify="right")
    for row in rows:
        size = row["deployed_bytes"]
        style = "red" if size > EIP170_LIMIT else ""
        table.add_row(
            row["name"], row["source"], f"[{style}]{size:,} B[/]" if style else f"{size:,} B"
        )
    return table


@app.command("compile")
def compile_(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Recompile even if nothing changed.")
    ] = False,
    tests: Annotated[
        bool, typer.Option("--tests", help="Also compile the test mocks (contracts/test).")
    ] = False,
) -> None:
    """Compile contracts/ into build/artifacts/ (reused when sources and settings are unchanged)."""
    from sphinxctl.solidity.compiler import compile_contracts

    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    result = compile_contracts(
        state.project_root,
        force=force,
        include_tests=tests,
        on_event=lambda m: state.err.print(m, markup=False),
    )
    rows = _rows(result.artifacts)
    data = {
        "compiler": result.compiler,
        "cached": result.cached,
        "seconds": round(result.seconds, 3),
        "contracts": rows,
    }
    verb = "reused cached build" if result.cached else "compiled"
    emit(
        state, data, lambda: _table(rows, f"{verb} in {result.seconds:.2f}s with {result.compiler}")
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    tests: Annotated[bool, typer.Option("--tests", help="Include the test mocks.")] = False,
) -> None:
    """List the compiled artifacts in build/ (without compiling)."""
    from sphinxctl.solidity.artifacts import load_artifacts

    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    rows = _rows(load_artifacts(state.project_root, include_tests=tests))
    emit(state, {"contracts": rows}, lambda: _table(rows, "compiled contracts"))
