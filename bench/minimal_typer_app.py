"""Baseline for bench_startup: the smallest typer app with one subcommand group."""

import typer

app = typer.Typer()
sub = typer.Typer()
app.add_typer(sub, name="config")


@sub.command()
def show() -> None:
    """Show."""


if __name__ == "__main__":
    app()
