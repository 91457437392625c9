"""Fixtures of the API tests: one deployed devnet and one live API for the session, tokens,
and cheap apps on in-memory backends for tests that need no chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api_env import (
    DevnetProject,
    LiveServer,
    base_config,
    link_project,
    load,
    tokens_for,
    write_config,
)
from tests.support.real_parts import real_part
from tests.support.redis_server import RedisServer, shared_redis


@pytest.fixture(scope="session")
@real_part("redis")
def redis() -> RedisServer:
    return shared_redis()


@pytest.fixture(scope="session")
@real_part("anvil")
def devnet(redis: RedisServer) -> Iterator[DevnetProject]:
    project = DevnetProject(redis.url)
    try:
        yield project.start()
    finally:
        project.destroy()


@pytest.fixture(scope="session")
def tokens(devnet: DevnetProject) -> dict[str, str]:
    return tokens_for(devnet.settings, devnet.root)


@pytest.fixture(scope="session")
def live_api(devnet: DevnetProject) -> Iterator[LiveServer]:
    """The API on the devnet (SQLite store in the project), served over real HTTP."""
    from sphinxctl.api import create_app

    app = create_app(devnet.settings, devnet.root, poll_interval=1.0)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def offline_project(tmp_path: Path, redis: RedisServer) -> tuple[Path, Any]:
    """A project whose chains point at closed ports (no devnet): (root, settings)."""
    link_project(tmp_path)
    config = base_config(redis.url)
    return tmp_path, load(write_config(tmp_path, config))
