"""Database, alert-rule and manifest items, each broken on its own on a private project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sphinxctl.checks import ChecklistReport
from tests.support.checks_env import ROOT, Runner, assert_only_failure, by_id

pytestmark = pytest.mark.integration


def _database(path: Path, *, events: int = 3, migrated: bool = True) -> Path:
    from sphinxctl.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    with Store.from_url(f"sqlite:///{path}") as store:
        store.migrate()
        for n in range(events):
            store.append_audit("ops", "admin", "pause", f"ethereum:step{n}", {"n": n})
        if not migrated:
            store.downgrade("base")
    return path


@pytest.fixture
def with_database(project: Path) -> Path:
    return _database(project / ".sphinxctl" / "local.db")


@pytest.fixture
def before(with_database: Path, run: Runner) -> ChecklistReport:
    report = run("local")
    assert by_id(report)["BAK-001"].status.value == "pass"
    return report


def _own(project: Path, name: str) -> Path:
    """Replace the project's link to the repository's `name` with a private copy."""
    (project / name).unlink()
    shutil.copytree(ROOT / name, project / name)
    return project / name


def test_unmigrated_database_fails_only_bak_001(
    project: Path, offline: pytest.MonkeyPatch, run: Runner, before: ChecklistReport
) -> None:
    stale = _database(project / "stale.db", migrated=False)
    offline.setenv("SPHINXCTL_DATABASE__SQLITE_PATH", str(stale))
    after = run("local")
    assert_only_failure(before, after, "BAK-001")
    assert "schema at no revision, latest is" in by_id(after)["BAK-001"].reason
    assert by_id(after)["BAK-002"].details["blocked_by"] == "BAK-001"


def test_tampered_audit_row_fails_only_bak_002(
    with_database: Path, run: Runner, before: ChecklistReport
) -> None:
    from sphinxctl.store import Store
    from tests.support.store_backends import tamper

    with Store.from_url(f"sqlite:///{with_database}") as store:
        tamper(store, "UPDATE audit_events SET action = 'unpause' WHERE seq = 2")
    after = run("local")
    assert_only_failure(before, after, "BAK-002")
    assert "audit chain broken at row 2" in by_id(after)["BAK-002"].reason


def test_invalid_alert_rule_fails_only_mon_001(
    project: Path, run: Runner, before: ChecklistReport
) -> None:
    rules = _own(project, "alert_rules") / "critical.yaml"
    text = rules.read_text()
    rules.write_text(text.replace('expr: sum(up{job="sphinx-api"}) == 0',
                                  'expr: sum(up{job="sphinx-api"}) == 0 )', 1))  # fmt: skip
    after = run("local")
    assert_only_failure(before, after, "MON-001")
    assert "critical.yaml" in by_id(after)["MON-001"].reason
    assert by_id(after)["MON-002"].details["blocked_by"] == "MON-001"


def test_failing_rule_test_fails_only_mon_002(
    project: Path, run: Runner, before: ChecklistReport
) -> None:
    tests = _own(project, "alert_rules") / "tests" / "critical_test.yaml"
    tests.write_text(tests.read_text().replace("severity: critical", "severity: none", 1))
    after = run("local")
    assert_only_failure(before, after, "MON-002")
    assert "promtool test rules" in by_id(after)["MON-002"].reason


def test_rule_on_an_undefined_metric_fails_only_mon_003(
    project: Path, run: Runner, before: ChecklistReport
) -> None:
    extra = _own(project, "alert_rules") / "extra.yaml"
    extra.write_text(
        "groups:\n  - name: extra\n    rules:\n      - alert: SphinxTypo\n"
        "        expr: rate(sphinxos_no_such_metric_total[5m]) > 0\n"
        "        labels: {severity: warning}\n"
        "        annotations: {summary: x, description: x, runbook_url: docs/RUNBOOK.md#x}\n"
    )
    after = run("local")
    assert_only_failure(before, after, "MON-003")
    assert "sphinxos_no_such_metric_total" in by_id(after)["MON-003"].reason


def test_stack_without_backup_cronjob_fails_only_bak_004(
    project: Path, run: Runner, before: ChecklistReport
) -> None:
    (_own(project, "manifests") / "backup.yaml").unlink()
    after = run("local")
    assert_only_failure(before, after, "BAK-004")
    assert "no CronJob postgres-backup" in by_id(after)["BAK-004"].reason


def test_latest_image_tag_fails_only_inf_002(
    offline: pytest.MonkeyPatch, run: Runner, before: ChecklistReport
) -> None:
    offline.setenv("SPHINXCTL_KUBERNETES__IMAGE", "ghcr.io/sphinx/api:latest")
    after = run("local")
    assert_only_failure(before, after, "INF-002")
    assert "uses the moving :latest" in by_id(after)["INF-002"].reason
