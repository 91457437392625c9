"""Fixtures shared by every test package: the project root and a private copy of its config."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.redis_server import RedisServer

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
def redis() -> RedisServer:
    """The session's shared Redis, emptied (tests/api's conftest keeps its contents)."""
    from tests.support.redis_server import shared_redis

    server = shared_redis()
    server.flushall()
    return server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own: it may be paused, killed or restarted."""
    from tests.support.redis_server import RedisServer

    with RedisServer() as server:
        yield server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No SPHINXCTL_* or deployment secrets leak in from the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(("SPHINXCTL_", "SPHINX_")) or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
    yield monkeypatch
