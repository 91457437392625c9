"""`sphinxctl serve`: run the platform's API server (uvicorn on the app factory)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sphinxctl.cli.context import get_state

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="Run the platform's API server.")

WORKER_FACTORY = "sphinxctl.cli.serve:worker_app"


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address [default: api.host].")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port [default: api.port].")] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=64, help="Worker processes [default: api.workers]."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help="Serve /metrics on its own port too [default: api.metrics_port].",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning, error.")
    ] = "info",
) -> None:
    """Serve the API for the environment (-e); every dependency comes from its config."""
    from sphinxctl.api.preflight import preflight, serve_unready
    from sphinxctl.api.server import ServeOptions, serve_forever

    state = get_state(ctx)
    # A missing variable, file or key does not stop the server: it answers /health/ready 503
    # naming the missing piece (docs/POD_CONTRACT.md).
    settings, problems = preflight(state.env, state.config_dir, state.project_root, os.environ)
    if settings is None or problems:
        serve_unready(settings, problems, host=host, port=port, log_level=log_level.lower())
        return
    options = ServeOptions.from_settings(
        settings, host=host, port=port, workers=workers, metrics_port=metrics_port,
        log_level=log_level.lower(),
    )  # fmt: skip
    state.err.print(
        f"serving {settings.environment} on http://{options.host}:{options.port} "
        f"({options.workers} worker{'s' if options.workers > 1 else ''})"
    )
    # Worker processes rebuild the app from the same environment and config directory.
    os.environ["SPHINXCTL_ENV"] = state.env
    os.environ["SPHINXCTL_CONFIG_DIR"] = str(state.config_dir.resolve())
    os.environ["SPHINXCTL_LOG_LEVEL"] = options.log_level
    serve_forever(settings, state.project_root, options, worker_factory=WORKER_FACTORY,
                  environ=os.environ)  # fmt: skip


def worker_app() -> FastAPI:
    """The app of one uvicorn worker process (`--workers` > 1)."""
    from sphinxctl.api.app import create_app
    from sphinxctl.api.logs import configure_logging
    from sphinxctl.api.server import MULTIPROC_ENV
    from sphinxctl.settings import load_settings

    configure_logging(os.environ.get("SPHINXCTL_LOG_LEVEL", "info"))
    config_dir = Path(os.environ.get("SPHINXCTL_CONFIG_DIR", "environments"))
    settings = load_settings(os.environ.get("SPHINXCTL_ENV", "local"), config_dir).settings
    return create_app(
        settings,
        config_dir.resolve().parent,
        multiproc_dir=os.environ.get(MULTIPROC_ENV),
        settle_heap=True,
    )
