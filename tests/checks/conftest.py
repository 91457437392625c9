"""Fixtures of the checklist tests: a private project tree and a way to run the checklist on it.

A `project` is a temporary project root: environments/ copied (so tests may edit it), an empty
deployments/, the repository's alert_rules/, manifests/, node_modules/ linked in read-only, and
contracts/ and build/ linked to a snapshot taken once per session (so a compile or Slither run
elsewhere on the machine cannot change them under a test). RPC URLs, Redis and the API point
at closed loopback ports unless a test says otherwise: no test traffic leaves the machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.checks import ChecklistReport
from tests.support.checks_env import ROOT, Runner, closed_port, make_project, run_in


@pytest.fixture(scope="package", autouse=True)
def rule_tests_run_once_per_content() -> Iterator[None]:
    """promtool's rule tests (seconds of CPU) give the same verdict for the same files and
    arguments: each distinct content of alert_rules/ is tested once while tests/checks runs, for
    real; every other run with that content reuses the verdict. A test that edits the rules gets
    a fresh run. Package scope: the patch is undone before any other test package runs."""
    import hashlib

    import sphinxctl.monitoring as monitoring

    real = monitoring.run_promtool_test
    verdicts: dict[str, object] = {}

    def once(root: Path, **kwargs: object) -> object:
        digest = hashlib.sha256()
        for path in [*monitoring.rule_files(root), *monitoring.rule_test_files(root)]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        digest.update(repr(sorted(kwargs.items())).encode())
        key = digest.hexdigest()
        if key not in verdicts:
            verdicts[key] = real(root, **kwargs)  # type: ignore[arg-type]
        return verdicts[key]

    patch = pytest.MonkeyPatch()
    patch.setattr(monitoring, "run_promtool_test", once)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """contracts/ and build/ (current artifacts; the Slither report when there is one), copied
    once per session from the repository (compiling first when the sources changed)."""
    from sphinxctl.solidity.compiler import compile_contracts

    compile_contracts(ROOT)
    target = tmp_path_factory.mktemp("snapshot")
    shutil.copytree(ROOT / "contracts", target / "contracts")
    for part in ("artifacts", "solc-shim", "slither"):
        if (ROOT / "build" / part).is_dir():
            shutil.copytree(ROOT / "build" / part, target / "build" / part, symlinks=True)
    return target


@pytest.fixture
def offline(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Every chain, Redis and the API at closed loopback ports; no secrets from the shell."""
    for chain in ("ETHEREUM", "POLYGON", "ARBITRUM"):
        clean_env.setenv(
            f"SPHINXCTL_CHAINS__{chain}__RPC_URLS", f'["http://127.0.0.1:{closed_port()}"]'
        )
    clean_env.setenv("SPHINXCTL_REDIS__URL", f"redis://127.0.0.1:{closed_port()}/0")
    clean_env.setenv("SPHINXCTL_API__BASE_URL", f"http://127.0.0.1:{closed_port()}")
    return clean_env


@pytest.fixture
def project(tmp_path: Path, snapshot: Path, offline: pytest.MonkeyPatch) -> Path:
    return make_project(tmp_path / "project", snapshot)


@pytest.fixture
def run(project: Path) -> Iterator[Runner]:
    def runner(env: str = "local", **kwargs: object) -> ChecklistReport:
        return run_in(project, env, **kwargs)  # type: ignore[arg-type]

    yield runner
