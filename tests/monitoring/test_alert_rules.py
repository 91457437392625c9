"""The alert rules evaluated by the real promtool (Debian's `prometheus` package): they parse,
their unit tests pass, the dashboards' queries parse, and breaking any of them is caught."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
import yaml

from sphinxctl import monitoring
from sphinxctl.errors import MonitoringError, PromtoolMissing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, (
        "promtool is missing: install Debian's `prometheus` package (scripts/setup.sh does)"
    )
    return path


@pytest.fixture
def rules_copy(project_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(project_root / monitoring.RULES_DIR, tmp_path / monitoring.RULES_DIR)
    return tmp_path


def test_promtool_check_rules_passes(project_root: Path, promtool: str) -> None:
    result = monitoring.run_promtool_check(project_root, promtool=promtool)
    assert result.ok, result.output
    assert result.command[1:3] == ["check", "rules"]
    for path in monitoring.rule_files(project_root):
        assert f"Checking alert_rules/{path.name}\n  SUCCESS" in result.output


def test_promtool_rule_unit_tests_pass(project_root: Path, promtool: str) -> None:
    result = monitoring.run_promtool_test(project_root, promtool=promtool)
    assert result.ok, result.output
    assert result.output.count("SUCCESS") == len(monitoring.rule_test_files(project_root))
    assert "FAILED" not in result.output


def test_dashboard_queries_parse_as_promql(project_root: Path, promtool: str) -> None:
    queries = monitoring.load_dashboard_queries(project_root)
    result = monitoring.run_promtool_check_queries(queries, promtool=promtool)
    assert result.ok, result.output
    assert f"SUCCESS: {len(queries)} rules found" in result.output


def test_a_broken_expression_fails_the_check(rules_copy: Path, promtool: str) -> None:
    path = rules_copy / "alert_rules/database.yaml"
    path.write_text(path.read_text().replace("expr: redis_up == 0", "expr: redis_up == = 0"))
    result = monitoring.run_promtool_check(rules_copy, promtool=promtool)
    assert not result.ok
    assert "database.yaml" in result.output and "FAILED" in result.output


def test_a_broken_dashboard_query_fails_the_check(promtool: str) -> None:
    query = monitoring.DashboardQuery(
        dashboard="d", file="d.json", panel="p", expr="sum(rate(x[5m])"
    )
    assert not monitoring.run_promtool_check_queries([query], promtool=promtool).ok


def _edit_rule(root: Path, file: str, name: str, **fields: str) -> None:
    path = root / "alert_rules" / file
    doc = yaml.safe_load(path.read_text())
    rule = next(r for g in doc["groups"] for r in g["rules"] if r.get("alert") == name)
    for key, value in fields.items():
        if key in rule:
            rule[key] = value
        else:
            rule["annotations"][key] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize(
    ("file", "alert", "change"),
    [
        # A threshold moved: the firing case no longer fires.
        (
            "performance.yaml",
            "SphinxApiErrorRatioHigh",
            {"expr": "sphinxos:api_error_ratio:rate5m > 0.5"},
        ),
        # A shorter `for:`: the case that must still be pending now fires.
        ("critical.yaml", "SphinxContractPaused", {"for": "0s"}),
        # An annotation changed: the exact annotations no longer match.
        ("blockchain.yaml", "SphinxGasPriceHigh", {"summary": "Gas is high"}),
        # A label dropped by aggregation: the exact labels no longer match.
        (
            "database.yaml",
            "SphinxDbSlowQueries",
            {"expr": "max(operation:sphinxos_db_query_duration_seconds:p99_5m) > 0.5"},
        ),
    ],
)
def test_promtool_unit_tests_catch_a_changed_rule(
    rules_copy: Path, promtool: str, file: str, alert: str, change: dict[str, str]
) -> None:
    _edit_rule(rules_copy, file, alert, **change)
    assert monitoring.run_promtool_check(rules_copy, promtool=promtool).ok
    result = monitoring.run_promtool_test(rules_copy, promtool=promtool)
    assert not result.ok
    assert f"alertname: {alert}," in result.output


def test_missing_promtool_is_a_clear_error(project_root: Path, tmp_path: Path) -> None:
    with pytest.raises(PromtoolMissing, match="promtool not found") as info:
        monitoring.run_promtool_check(project_root, promtool=str(tmp_path / "promtool"))
    assert info.value.hint and "prometheus" in info.value.hint
    assert info.value.to_dict()["error"] == "promtool-missing"


def test_promtool_that_cannot_run_is_a_clear_error(project_root: Path, tmp_path: Path) -> None:
    fake = tmp_path / "promtool"
    fake.write_text("not a program")
    fake.chmod(stat.S_IRUSR)
    with pytest.raises(PromtoolMissing, match="cannot run"):
        monitoring.run_promtool_test(project_root, promtool=str(fake))


def test_promtool_past_its_timeout_is_stopped(project_root: Path, promtool: str) -> None:
    with pytest.raises(MonitoringError, match="did not finish within"):
        monitoring.run_promtool_test(project_root, promtool=promtool, timeout=0.05)


def test_no_rule_files_is_an_error_not_a_pass(tmp_path: Path, promtool: str) -> None:
    (tmp_path / "alert_rules/tests").mkdir(parents=True)
    with pytest.raises(MonitoringError, match="no rule files"):
        monitoring.run_promtool_check(tmp_path, promtool=promtool)
    with pytest.raises(MonitoringError, match="no promtool rule tests"):
        monitoring.run_promtool_test(tmp_path, promtool=promtool)
