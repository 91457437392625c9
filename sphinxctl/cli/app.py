"""The root of the command tree: global options, lazy command groups, errors -> exit codes.

This is the one place where SphinxErrors become exit codes and rendered messages.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from sphinxctl import __version__
from sphinxctl.cli.context import CliState, Output

if TYPE_CHECKING:
    from sphinxctl.errors import SphinxError

# name -> (module holding `app`, one-line help). Modules are imported only when invoked, so
# `sphinxctl --help` stays fast and one group's imports never slow another.
GROUPS: dict[str, tuple[str, str]] = {
    "config": ("sphinxctl.cli.config", "Show and validate an environment's configuration."),
    "contracts": ("sphinxctl.cli.contracts", "Compile the platform's Solidity contracts."),
    "devnet": ("sphinxctl.cli.devnet", "Run the local three-chain anvil devnet."),
    "deploy": ("sphinxctl.cli.deploy", "Deploy, verify and hand over the contracts."),
    "infra": ("sphinxctl.cli.infra", "Create and manage the Kubernetes stack."),
    "auth": ("sphinxctl.cli.auth", "Issue, verify and revoke JWTs; manage keys."),
    "check": ("sphinxctl.cli.check", "Run the mainnet readiness checklist."),
    "serve": ("sphinxctl.cli.serve", "Run the platform's API server."),
    "db": ("sphinxctl.cli.db", "Migrate, back up and restore the database."),
    "audit": ("sphinxctl.cli.audit", "List and verify the hash-chained audit trail."),
    "rarity": ("sphinxctl.cli.rarity", "Take and publish rarity snapshots of the collection."),
    "safe": ("sphinxctl.cli.safe", "Propose, sign and execute Safe transactions."),
}

# Global options operators may put anywhere on the line (kubectl style); value-taking ones map
# to True.
_GLOBAL_OPTIONS: dict[str, bool] = {
    "-e": True,
    "--env": True,
    "--config-dir": True,
    "-o": True,
    "--output": True,
    "--traceback": False,
}


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after the subcommand to the front of the argument list."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in _GLOBAL_OPTIONS:
            takes_value = _GLOBAL_OPTIONS[name]
            if takes_value and "=" not in arg and i + 1 < len(args):
                front.extend(args[i : i + 2])
                i += 2
                continue
            front.append(arg)
        elif len(arg) > 2 and arg[:2] in ("-e", "-o") and not arg.startswith("--"):
            front.append(arg)  # attached short form: -ojson, -emainnet
        else:
            rest.append(arg)
        i += 1
    return front + rest


class _Placeholder(TyperGroup):
    """Stands in for a group not yet imported, so the root --help lists it cheaply."""


# typer 0.29 vendors click and exports neither its Context nor its Command class (typer.Context
# only marks a command's parameter; the object passed in is the vendored click's Context). The
# overrides below therefore take the context and commands as `Any`, the public way to name them.
class SphinxGroup(TyperGroup):
    """Root group: hoists global options, loads groups lazily, renders SphinxErrors."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *GROUPS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in GROUPS:
            return command
        return _Placeholder(name=cmd_name, help=GROUPS[cmd_name][1])

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in GROUPS and args[0] not in self.commands:
            self.add_command(_load_group(args[0]), args[0])
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        from sphinxctl.errors import SphinxError

        try:
            return super().invoke(ctx)
        except SphinxError as exc:
            state = _state(ctx)
            if state.traceback:
                raise
            _render_error(state, exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _state(ctx).err.print("interrupted", markup=False, highlight=False)
            raise typer.Exit(130) from None


def _state(ctx: Any) -> CliState:
    return ctx.obj if isinstance(ctx.obj, CliState) else CliState()


def _load_group(name: str) -> Any:
    """The typer app of a command group, built into a command (imported on first use)."""
    module = importlib.import_module(GROUPS[name][0])
    command = typer.main.get_command(module.app)
    command.name = name
    if not command.help:
        command.help = GROUPS[name][1]
    return command


def _render_error(state: CliState, exc: SphinxError) -> None:
    if state.output == "json":
        import json

        state.write(json.dumps(exc.to_dict()) + "\n", err=True)
    else:
        state.err.print(exc)


def _version(value: bool) -> None:
    if value:
        CliState().write(f"sphinxctl {__version__}\n")
        raise typer.Exit()


app = typer.Typer(
    cls=SphinxGroup,
    name="sphinxctl",
    help="The operator toolkit that takes the Sphinx platform to mainnet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    env: Annotated[
        str,
        typer.Option(
            "--env",
            "-e",
            envvar="SPHINXCTL_ENV",
            help="Environment: local, testnet, mainnet (file environments/<env>.yaml).",
        ),
    ] = "local",
    config_dir: Annotated[
        Path,
        typer.Option(
            "--config-dir",
            envvar="SPHINXCTL_CONFIG_DIR",
            help="Directory holding the environment files.",
        ),
    ] = Path("environments"),
    output: Annotated[
        Output,
        typer.Option(
            "--output", "-o", help="Result format: table, json, yaml (check also: junit)."
        ),
    ] = Output.table,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Re-raise errors with a traceback.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The operator toolkit that takes the Sphinx platform to mainnet."""
    ctx.obj = CliState(env=env, config_dir=config_dir, output=output.value, traceback=traceback)


def main() -> None:
    """Console-script entry point."""
    app()
