"""Fixtures shared by every test package: the project root and a private copy of its config."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester", "tests.support.real_parts", "tests.support.k8s_fixtures"]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of environments/ inside a temporary project root."""
    target = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", target)
    return target


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No SPHINXCTL_* or deployment secrets leak in from the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(("SPHINXCTL_", "SPHINX_")) or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
    yield monkeypatch
