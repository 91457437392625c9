"""The alert rules, their promtool tests, the dashboards and the runbook agree with each other
and with the metrics the code defines (sphinxctl.metrics). No promtool here: see
tests/monitoring/test_alert_rules.py for the rules evaluated by promtool."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sphinxctl import monitoring
from sphinxctl.errors import MonitoringError
from sphinxctl.metrics import ALERTED_FAMILIES, REGISTRY

# Metrics of the standard exporters the rules and dashboards may use, by their real names.
EXPORTER_METRICS = {
    "up",  # Prometheus itself
    "pg_up",  # postgres_exporter
    "pg_stat_activity_count",
    "pg_settings_max_connections",
    "pg_stat_database_deadlocks",
    "redis_up",  # redis_exporter
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_rejected_connections_total",
    "kube_deployment_status_replicas_available",  # kube-state-metrics
    "kube_deployment_spec_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_pod_container_resource_limits",
    "kube_pod_container_status_restarts_total",
    "container_memory_working_set_bytes",  # cAdvisor (kubelet)
    "container_cpu_usage_seconds_total",
}


@pytest.fixture(scope="module")
def alerts(project_root: Path) -> list[monitoring.AlertRule]:
    return monitoring.load_alert_rules(project_root)


@pytest.fixture
def copy_root(project_root: Path, tmp_path: Path) -> Path:
    """A private copy of everything the monitoring helpers read, to break on purpose."""
    for part in (monitoring.RULES_DIR, monitoring.DASHBOARDS_DIR):
        shutil.copytree(project_root / part, tmp_path / part)
    (tmp_path / "docs").mkdir()
    shutil.copy(project_root / monitoring.RUNBOOK, tmp_path / monitoring.RUNBOOK)
    return tmp_path


def _edit_yaml(path: Path, edit: object) -> None:
    doc = yaml.safe_load(path.read_text())
    edit(doc)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _rule(doc: dict, name: str) -> dict:
    return next(r for g in doc["groups"] for r in g["rules"] if r.get("alert") == name)


# --- the rules as committed --------------------------------------------------------------


def test_rules_are_in_exactly_the_six_required_groups(project_root: Path) -> None:
    assert sorted(monitoring.group_names(project_root)) == sorted(monitoring.REQUIRED_GROUPS)


def test_there_are_at_least_30_alerts_with_unique_names(alerts: list) -> None:
    names = [a.name for a in alerts]
    assert len(names) >= 30
    assert len(set(names)) == len(names), [n for n in names if names.count(n) > 1]


def test_every_group_has_alerts_of_its_kind(alerts: list) -> None:
    by_group = {g: [a for a in alerts if a.group == g] for g in monitoring.REQUIRED_GROUPS}
    assert all(len(v) >= 3 for v in by_group.values()), {g: len(v) for g, v in by_group.items()}
    assert {a.severity for a in by_group["critical"]} == {"critical"}


def test_alert_names_are_camelcase_with_the_common_prefix(alerts: list) -> None:
    bad = [a.name for a in alerts if not re.fullmatch(r"Sphinx(?:[A-Z][a-z0-9]+)+", a.name)]
    assert bad == []


def test_every_alert_has_for_severity_and_annotations(alerts: list) -> None:
    problems = []
    for a in alerts:
        if (
            not a.for_
            or not re.fullmatch(r"(\d+[smhd])+", a.for_)
            or not re.search("[1-9]", a.for_)
        ):
            problems.append(f"{a.name}: for={a.for_!r}")
        if a.severity not in ("critical", "warning", "info"):
            problems.append(f"{a.name}: severity={a.severity!r}")
        missing = [k for k in ("summary", "description", "runbook_url") if not a.annotations.get(k)]
        if missing:
            problems.append(f"{a.name}: missing {missing}")
    assert problems == []


def test_every_alert_expression_compares(alerts: list) -> None:
    no_comparison = [
        a.name
        for a in alerts
        if not re.search(r"==|!=|>=|<=|[<>]", re.sub(r"\{[^}]*\}", "", a.expr))
    ]
    assert no_comparison == []


def test_every_alert_has_a_runbook_section(project_root: Path, alerts: list) -> None:
    anchors = set(monitoring.runbook_anchors(project_root))
    for a in alerts:
        assert a.annotations["runbook_url"] == f"docs/RUNBOOK.md#{a.name.lower()}", a.name
        assert a.name.lower() in anchors, f"docs/RUNBOOK.md has no section for {a.name}"


def test_runbook_has_no_section_for_an_alert_that_does_not_exist(
    project_root: Path, alerts: list
) -> None:
    text = (project_root / monitoring.RUNBOOK).read_text()
    sections = re.findall(r"^### (Sphinx\w+)\s*$", text, flags=re.M)
    assert sorted(sections) == sorted(a.name for a in alerts)


def test_every_alert_has_quiet_and_firing_promtool_cases(project_root: Path, alerts: list) -> None:
    cases = monitoring.alert_test_cases(project_root)
    missing = [
        f"{a.name}: {cases.get(a.name)}"
        for a in alerts
        if a.name not in cases or not cases[a.name].quiet or not cases[a.name].firing
    ]
    assert missing == []
    assert set(cases) <= {a.name for a in alerts}, "tests name alerts that do not exist"


def test_firing_cases_expect_the_alerts_severity_and_every_annotation(
    project_root: Path, alerts: list
) -> None:
    by_name = {a.name: a for a in alerts}
    for path in monitoring.rule_test_files(project_root):
        doc = yaml.safe_load(path.read_text())
        rule_files = {Path(f).name for f in doc["rule_files"]}
        for group in doc["tests"]:
            for case in group.get("alert_rule_test") or []:  # or promql_expr_test only
                rule = by_name[case["alertname"]]
                assert rule.file in rule_files, f"{path.name} does not load {rule.file}"
                for exp in case.get("exp_alerts") or []:
                    assert exp["exp_labels"]["severity"] == rule.severity, rule.name
                    assert set(exp["exp_annotations"]) == set(rule.annotations), rule.name
                    assert exp["exp_annotations"]["runbook_url"] == rule.annotations["runbook_url"]


def test_lint_finds_nothing_in_the_committed_rules(project_root: Path) -> None:
    assert monitoring.lint_alert_rules(project_root) == []


# --- metrics: rules and dashboards against sphinxctl.metrics ------------------------------


def test_defined_metric_names_come_from_the_registry_with_suffixes() -> None:
    names = monitoring.defined_metric_names()
    assert "sphinxos_requests_total" in names  # counter sample
    assert "sphinxos_requests" not in names  # counters are exposed with _total only
    assert {f"sphinxos_api_latency_seconds{s}" for s in ("_bucket", "_sum", "_count")} <= names
    assert "sphinxos_node_health" in names
    assert "process_resident_memory_bytes" in names  # the registry's process collector


def test_every_alerted_family_is_a_defined_metric() -> None:
    defined = monitoring.defined_metric_names(REGISTRY)
    assert [f for f in ALERTED_FAMILIES if f not in defined and f + "_bucket" not in defined] == []


def test_rules_and_dashboards_use_only_defined_sphinxos_metrics(project_root: Path) -> None:
    report = monitoring.check_coverage(project_root)
    assert report.undefined_metrics == {}
    assert report.unknown_recordings == {}


def test_every_alerted_family_has_an_alert_or_a_dashboard_panel(project_root: Path) -> None:
    assert monitoring.check_coverage(project_root).uncovered_families == []


def test_every_alerted_family_is_on_a_dashboard(project_root: Path) -> None:
    assert monitoring.check_coverage(project_root).families_without_panel == []


def test_other_metrics_are_real_exporter_names(project_root: Path) -> None:
    recorded = {r.name for r in monitoring.load_recording_rules(project_root)}
    exprs = [r.expr for r in monitoring.load_alert_rules(project_root)]
    exprs += [r.expr for r in monitoring.load_recording_rules(project_root)]
    exprs += [q.expr for q in monitoring.load_dashboard_queries(project_root)]
    defined = monitoring.defined_metric_names()
    unknown = {
        name
        for expr in exprs
        for name in monitoring.metric_names_in_expr(expr)
        if name not in recorded and name not in defined and name not in EXPORTER_METRICS
    }
    assert unknown == set()


def test_api_selectors_name_the_api_as_infra_deploys_it(project_root: Path) -> None:
    exprs = [r.expr for r in monitoring.load_alert_rules(project_root)]
    exprs += [r.expr for r in monitoring.load_recording_rules(project_root)]
    exprs += [q.expr for q in monitoring.load_dashboard_queries(project_root)]
    selectors = {
        (m.group(1), m.group(2))
        for expr in exprs
        for m in re.finditer(
            r'\b(job|deployment|container|horizontalpodautoscaler)="([^"]*)"', expr
        )
    }
    assert selectors == {
        ("job", monitoring.API_NAME),
        ("deployment", monitoring.API_NAME),
        ("horizontalpodautoscaler", monitoring.API_NAME),
        ("container", monitoring.API_CONTAINER),
    }


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (route, le) (rate(a_bucket{x="{y}"}[5m]))', {"a_bucket"}),
        ("a / on (instance) group_left (pod) max by (instance) (b) > 0.5", {"a", "b"}),
        ("x:rec:rate5m offset 1d > 1e3 and bool_metric", {"x:rec:rate5m", "bool_metric"}),
        ("histogram_quantile(0.99, c[$__rate_interval]) >= 2.5", {"c"}),
        ('absent(up{job="api"}) == 1 unless on () vector(1)', {"up"}),
        ('label_replace(d, "dst", "$1", "src", "(.*)") < inf', {"d"}),
    ],
)
def test_metric_names_in_expr(expr: str, names: set[str]) -> None:
    assert monitoring.metric_names_in_expr(expr) == names


def test_recording_rules_count_as_the_metrics_they_use(project_root: Path) -> None:
    recordings = monitoring.load_recording_rules(project_root)
    gas = [a for a in monitoring.load_alert_rules(project_root) if a.name == "SphinxGasPriceHigh"]
    used = monitoring.metric_names_in_rules(gas, recordings)
    assert "sphinxos_gas_price_gwei" in used
    assert "sphinxos_gas_price_gwei" not in monitoring.metric_names_in_rules(gas)


# --- dashboards --------------------------------------------------------------------------


def test_dashboards_cover_the_required_views(project_root: Path) -> None:
    titles = " | ".join(
        p["title"].lower()
        for doc in monitoring.load_dashboards(project_root).values()
        for p in monitoring.iter_panels(doc)
    )
    for view in (
        "requests",
        "latency",
        "error",
        "rate limit",
        "auth",
        "node health",
        "fee",
        "paused",
        "pool",
        "redis",
    ):
        assert view in titles, view


def test_dashboards_are_well_formed_grafana_json(project_root: Path) -> None:
    docs = monitoring.load_dashboards(project_root)
    assert len(docs) >= 3
    uids = [doc["uid"] for doc in docs.values()]
    assert len(set(uids)) == len(uids)
    for file, doc in docs.items():
        assert doc["title"] and doc["schemaVersion"] >= 36, file
        variables = {v["name"]: v for v in doc["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", file
        panels = list(monitoring.iter_panels(doc))
        ids = [p["id"] for p in panels]
        assert len(set(ids)) == len(ids), f"{file}: duplicate panel ids"
        for p in panels:
            pos = p["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, (file, p["title"])
            if p["type"] == "row":
                continue
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"])


# --- the checks catch what they must (each breaks a private copy) ------------------------


def test_alert_using_an_undefined_metric_is_reported(copy_root: Path) -> None:
    path = copy_root / "alert_rules/critical.yaml"
    _edit_yaml(
        path, lambda d: _rule(d, "SphinxNodeUnhealthy").update(expr="sphinxos_nodes_ok == 0")
    )
    report = monitoring.check_coverage(copy_root)
    assert report.undefined_metrics == {"sphinxos_nodes_ok": ["critical.yaml: SphinxNodeUnhealthy"]}
    assert not report.ok


def test_a_family_without_alert_or_panel_is_reported(copy_root: Path) -> None:
    registry = CollectorRegistry()
    Counter("sphinxos_requests", "r", ["route", "method", "status"], registry=registry)
    Histogram("sphinxos_brand_new_seconds", "n", registry=registry)
    Gauge("sphinxos_other", "o", registry=registry)
    report = monitoring.check_coverage(
        copy_root, registry, families=["sphinxos_requests_total", "sphinxos_brand_new_seconds"]
    )
    assert report.uncovered_families == ["sphinxos_brand_new_seconds"]
    # Rules and dashboards use many sphinxos_* names this registry does not define.
    assert "sphinxos_node_health" in report.undefined_metrics


def test_a_family_only_on_a_dashboard_counts_as_covered_but_not_alerted(copy_root: Path) -> None:
    for path in (copy_root / "alert_rules").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            group["rules"] = [r for r in group["rules"] if "active_users" not in r["expr"]]
        path.write_text(yaml.safe_dump(doc))
    report = monitoring.check_coverage(copy_root)
    assert report.families_without_alert == ["sphinxos_active_users"]
    assert report.uncovered_families == []


def test_a_family_dropped_from_alerts_and_dashboards_is_reported(copy_root: Path) -> None:
    for path in (copy_root / "alert_rules").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            group["rules"] = [r for r in group["rules"] if "gas_price" not in r["expr"]]
        path.write_text(yaml.safe_dump(doc))
    for path in (copy_root / monitoring.DASHBOARDS_DIR).glob("*.json"):
        doc = json.loads(path.read_text())
        doc["panels"] = [p for p in doc["panels"] if "gas" not in json.dumps(p.get("targets"))]
        path.write_text(json.dumps(doc))
    report = monitoring.check_coverage(copy_root)
    assert report.uncovered_families == ["sphinxos_gas_price_gwei"]


def _lint_after(copy_root: Path, file: str, edit: object) -> list[str]:
    _edit_yaml(copy_root / file, edit)
    return monitoring.lint_alert_rules(copy_root)


def test_lint_reports_a_duplicate_alert_name(copy_root: Path) -> None:
    def dup(d: dict) -> None:
        d["groups"][0]["rules"].append(dict(_rule(d, "SphinxRedisDown")))

    assert "database.yaml: SphinxRedisDown: duplicate alert name" in _lint_after(
        copy_root, "alert_rules/database.yaml", dup
    )


def test_lint_reports_groups_other_than_the_six(copy_root: Path) -> None:
    def rename(d: dict) -> None:
        d["groups"][0]["name"] = "misc"

    problems = _lint_after(copy_root, "alert_rules/business.yaml", rename)
    assert any(p.startswith("groups are") and "misc" in p for p in problems)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("for", None, "needs a non-zero `for:` duration"),
        ("for", "0m", "needs a non-zero `for:` duration"),
        ("labels", {"severity": "page"}, "severity label must be one of"),
        ("labels", {}, "severity label must be one of"),
        (
            "annotations",
            {"summary": "s", "runbook_url": "docs/RUNBOOK.md#sphinxredisdown"},
            "missing annotation description",
        ),
        (
            "annotations",
            {"summary": "s", "description": "d", "runbook_url": "x#y"},
            "runbook_url must be docs/RUNBOOK.md#sphinxredisdown",
        ),
        ("expr", "redis_up", "expression has no comparison"),
        ("alert", "RedisDown", "name is not CamelCase with prefix Sphinx"),
    ],
)
def test_lint_reports_each_broken_requirement(
    copy_root: Path, field: str, value: object, message: str
) -> None:
    def breaks(d: dict) -> None:
        rule = _rule(d, "SphinxRedisDown")
        if value is None:
            rule.pop(field)
        else:
            rule[field] = value

    problems = _lint_after(copy_root, "alert_rules/database.yaml", breaks)
    assert any(message in p for p in problems), problems


def test_lint_reports_a_missing_runbook_section(copy_root: Path) -> None:
    runbook = copy_root / monitoring.RUNBOOK
    runbook.write_text(runbook.read_text().replace("### SphinxRedisDown\n", "### Redis\n"))
    assert monitoring.lint_alert_rules(copy_root) == [
        "database.yaml: SphinxRedisDown: docs/RUNBOOK.md has no section #sphinxredisdown"
    ]


def test_lint_reports_an_alert_whose_test_case_was_removed(copy_root: Path) -> None:
    def drop_firing(d: dict) -> None:
        for group in d["tests"]:
            group["alert_rule_test"] = [
                c
                for c in group["alert_rule_test"]
                if not (c["alertname"] == "SphinxRedisDown" and c["exp_alerts"])
            ]

    _edit_yaml(copy_root / "alert_rules/tests/database_test.yaml", drop_firing)
    assert monitoring.lint_alert_rules(copy_root) == [
        "database.yaml: SphinxRedisDown: needs promtool cases where it stays quiet and where it "
        "fires (has 1 quiet, 0 firing)"
    ]


def test_malformed_rule_file_is_a_monitoring_error(copy_root: Path) -> None:
    (copy_root / "alert_rules/critical.yaml").write_text("groups: [unclosed\n")
    with pytest.raises(MonitoringError, match=r"critical\.yaml"):
        monitoring.load_alert_rules(copy_root)


def test_missing_rules_directory_is_a_monitoring_error(tmp_path: Path) -> None:
    with pytest.raises(MonitoringError, match="no rule files"):
        monitoring.load_alert_rules(tmp_path)
