"""The checklist tests' project trees and runner (their fixtures are in tests/checks/conftest.py).

A project is a temporary project root: environments/ copied (so tests may edit it), an empty
deployments/, the repository's alert_rules/, manifests/, node_modules/ linked in read-only, and
contracts/ and build/ linked to a snapshot taken once per session.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sphinxctl.checks import ChecklistReport, CheckRequest, Status, run_checklist
from sphinxctl.checks.model import CheckResult
from sphinxctl.errors import ConfigError
from sphinxctl.settings import load_settings
from tests.support.ports import free_port as closed_port

__all__ = ["closed_port"]  # re-exported: a closed loopback port for the checks' tests

ROOT = Path(__file__).resolve().parents[2]
LINKED = ("alert_rules", "manifests", "node_modules", "docs")


def make_project(target: Path, snapshot: Path | None) -> Path:
    """A project root at `target`; contracts/ and build/ linked from `snapshot` (a directory
    holding both), else contracts/ from the repository and no build."""
    target.mkdir(parents=True)
    for name in LINKED:
        if (ROOT / name).exists():
            (target / name).symlink_to(ROOT / name)
    if snapshot is not None:
        (target / "contracts").symlink_to(snapshot / "contracts")
        (target / "build").symlink_to(snapshot / "build")
    else:
        (target / "contracts").symlink_to(ROOT / "contracts")
    shutil.copy(ROOT / "CHECKLIST.md", target / "CHECKLIST.md")
    shutil.copytree(ROOT / "environments", target / "environments")
    (target / "deployments").mkdir()
    return target


Runner = Callable[..., ChecklistReport]


def run_in(
    root: Path,
    env: str = "local",
    *,
    areas: list[str] | None = None,
    timeout: float | None = None,
    allow_manual: bool = True,
) -> ChecklistReport:
    """Load `env` leniently from `root`/environments and run the checklist there."""
    try:
        loaded, error = load_settings(env, root / "environments", strict=False), None
    except ConfigError as exc:
        loaded, error = None, exc
    request = CheckRequest(env=env, project_root=root, allow_manual=allow_manual, timeout=timeout)
    if areas:
        request.areas = areas
    return run_checklist(request, loaded, error)


def by_id(report: ChecklistReport) -> dict[str, CheckResult]:
    return {r.id: r for r in report.results}


def assert_only_failure(before: ChecklistReport, after: ChecklistReport, item: str) -> None:
    """`item` went from pass to fail; every other item kept its status, or is now a skip that
    names `item` as the reason it could not be evaluated."""
    old, new = by_id(before), by_id(after)
    assert old[item].status == Status.PASS, (item, old[item].reason)
    assert new[item].status == Status.FAIL, (item, new[item].reason)
    moved = {
        rid: (old[rid].status.value, old[rid].reason, result.status.value, result.reason)
        for rid, result in new.items()
        if rid != item
        and result.status != old[rid].status
        and not (result.status == Status.SKIP and result.details.get("blocked_by") == item)
    }
    assert moved == {}, f"breaking {item} changed other items: {moved}"
