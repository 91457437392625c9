"""The fast lane's guard: a test that starts or talks to a real part must be marked `integration`.

`nox -s unit` runs `pytest -m "not integration"`; a test that needs anvil, redis-server,
PostgreSQL, promtool, a kube-apiserver, podman, ... but forgot the marker would slow that lane
down (or fail where the part is missing). It cannot sneak in: during an unmarked test

- a launcher of tests/support (`Anvil`, `RedisServer`, `shared_redis`, `PostgresServer`,
  `ControlPlane`) calls `require_integration(part)` and fails the test;
- a fixture declared with `@real_part("...")` (under `@pytest.fixture`) fails the test that
  requests it, directly or through another fixture, even when an earlier marked test already
  started the part;
- `subprocess.Popen` of one of REAL_PARTS (what `subprocess.run`, asyncio and sphinxctl's own
  code use) fails the test, whoever spawns it.

Outside a test (collection, bench/ scripts importing the launchers) nothing is checked.
Loaded by tests/conftest.py as a plugin.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

REAL_PARTS = frozenset(
    {
        "anvil",
        "forge",
        "redis-server",
        "postgres",
        "initdb",
        "pg_ctl",
        "pg_dump",
        "pg_restore",
        "prometheus",
        "promtool",
        "alertmanager",
        "prometheus-alertmanager",
        "amtool",
        "prometheus-postgres-exporter",
        "prometheus-redis-exporter",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "podman",
        "buildah",
        "skopeo",
        "wrk",
        "slither",
        "solhint",
    }
)
"""Executables that are real parts (basename of argv[0], or of argv[1] behind node/python)."""

_FIXTURES: dict[str, str] = {}
_current: pytest.Item | None = None
_real_popen = subprocess.Popen

F = TypeVar("F", bound=Callable[..., Any])


def real_part(part: str, *, name: str | None = None) -> Callable[[F], F]:
    """Declare the fixture below (placed under `@pytest.fixture`) as giving access to `part`."""

    def mark(function: F) -> F:
        _FIXTURES[name or function.__name__] = part
        return function

    return mark


def current_test() -> pytest.Item | None:
    return _current


def require_integration(part: str) -> None:
    """Fail the running test unless it is marked `integration` (no-op outside a test)."""
    item = _current
    if item is not None and item.get_closest_marker("integration") is None:
        pytest.fail(
            f"{item.nodeid} uses a real part ({part}) but is not marked integration: add "
            "`pytestmark = pytest.mark.integration` (or @pytest.mark.integration) so "
            "`nox -s unit` leaves it out",
            pytrace=False,
        )


def _part_of(args: Any) -> str | None:
    if isinstance(args, str | bytes):  # a command line (shell=True): its first word
        args = os.fsdecode(args).split()[:1]
    argv = [args] if isinstance(args, os.PathLike) else list(args or [])
    names = [os.path.basename(os.fsdecode(a)) for a in argv[:2]]
    if not names:
        return None
    if names[0] in REAL_PARTS:
        return names[0]
    if len(names) > 1 and names[0].startswith(("node", "python")) and names[1] in REAL_PARTS:
        return names[1]
    return None


class GuardedPopen(subprocess.Popen[Any]):
    """subprocess.Popen that refuses a real part inside an unmarked test."""

    def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
        part = _part_of(args)
        if part is not None:
            require_integration(part)
        super().__init__(args, *rest, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    subprocess.Popen = GuardedPopen  # type: ignore[misc]


def pytest_unconfigure(config: pytest.Config) -> None:
    subprocess.Popen = _real_popen  # type: ignore[misc]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    global _current
    _current = item
    try:
        return (yield)
    finally:
        _current = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    names = getattr(item, "fixturenames", ())
    parts = sorted({_FIXTURES[name] for name in names if name in _FIXTURES})
    if parts:
        require_integration(", ".join(parts))
