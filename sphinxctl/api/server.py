"""Run the API server: uvicorn on the app factory, optionally with a separate metrics port.

With one worker the app is built here and served in-process. With several, uvicorn spawns
worker processes that each call `worker_factory` (an import string) to build their own app;
their metrics are aggregated through prometheus_client's multiprocess directory so /metrics
and the metrics port report the whole server, not one worker.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sphinxctl.errors import UsageError

if TYPE_CHECKING:
    from sphinxctl.api.routes.metrics import ScrapeView
    from sphinxctl.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# uvloop + httptools (uvicorn's `standard` extra), with JSON bodies on uvicorn's own 400s.
HTTP_PROTOCOL = "sphinxctl.api.http_protocol:JsonErrorHttpToolsProtocol"
EVENT_LOOP = "uvloop"


class ServeOptions(BaseModel):
    """Where and how to serve (CLI options override the environment's `api` section)."""

    host: str
    port: int = Field(ge=0, le=65535)
    workers: int = Field(ge=1, le=64)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: str = "info"

    @classmethod
    def from_settings(cls, settings: Settings, **given: Any) -> ServeOptions:
        api = settings.api
        values: dict[str, Any] = {
            "host": api.host,
            "port": api.port,
            "workers": api.workers,
            "metrics_port": api.metrics_port,
        }
        values.update({k: v for k, v in given.items() if v is not None})
        return cls(**values)


def uvicorn_config_kwargs(options: ServeOptions) -> dict[str, Any]:
    """uvicorn settings shared by both modes: uvloop and httptools, our JSON logs (and JSON
    400s for unparsable requests), no server banner header."""
    return {
        "host": options.host,
        "port": options.port,
        "http": HTTP_PROTOCOL,
        "loop": EVENT_LOOP,
        "log_config": None,
        "log_level": options.log_level,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,  # client addresses come from api.trusted_proxies, not uvicorn
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
        "lifespan": "on",
    }


def serve_forever(
    settings: Settings,
    project_root: Path,
    options: ServeOptions,
    *,
    worker_factory: str,
    environ: MutableMapping[str, str],
) -> None:
    """Serve until interrupted. `environ` receives what worker processes need to start
    (the caller passes os.environ; domain code does not touch it otherwise)."""
    import uvicorn

    from sphinxctl.api.logs import configure_logging

    configure_logging(options.log_level)
    if options.metrics_port is not None and options.metrics_port == options.port:
        raise UsageError("--metrics-port must differ from --port")
    if options.workers == 1:
        from sphinxctl.api.app import create_app

        app = create_app(settings, project_root, settle_heap=True)
        if options.metrics_port is not None:
            _start_metrics_server(options, app.state.scrape_view)
        uvicorn.Server(uvicorn.Config(app, **uvicorn_config_kwargs(options))).run()
        return
    from sphinxctl.api.routes.metrics import scrape_registry
    from sphinxctl.store import Store

    multiproc = tempfile.mkdtemp(prefix="sphinx-metrics-")
    environ[MULTIPROC_ENV] = multiproc
    store = Store.from_settings(settings, project_root)  # transaction metrics come from it
    try:
        if options.metrics_port is not None:
            _start_metrics_server(options, scrape_registry(multiproc, store.transaction_stats))
        uvicorn.run(
            worker_factory, factory=True, workers=options.workers, **uvicorn_config_kwargs(options)
        )
    finally:
        store.close()
        shutil.rmtree(multiproc, ignore_errors=True)


def _start_metrics_server(options: ServeOptions, view: ScrapeView) -> None:
    from prometheus_client import start_http_server

    start_http_server(options.metrics_port or 0, addr=options.host, registry=view)
