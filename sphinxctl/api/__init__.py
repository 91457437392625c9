"""The embedded API server (FastAPI): `create_app(settings, project_root)` builds it,
`sphinxctl serve` runs it under uvicorn. Imported only when serving or testing the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI

    from sphinxctl.settings import Settings


def create_app(settings: Settings, project_root: Path, **overrides: Any) -> FastAPI:
    """See sphinxctl.api.app.create_app."""
    from sphinxctl.api.app import create_app as factory

    return factory(settings, project_root, **overrides)


__all__ = ["create_app"]
