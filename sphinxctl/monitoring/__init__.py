"""Read-only view of the monitoring set: alert rules, their promtool tests, dashboards, runbook.

The alert rule tests, the readiness checklist and the Grafana ConfigMap reuse these helpers:
load the rules as typed models, find the metric names an expression uses, compare them with
the metrics `sphinxctl.metrics` defines, and run promtool on the files. `root` is always the
repository root (the directory holding alert_rules/, docs/ and manifests/).
"""

from sphinxctl.monitoring.coverage import (
    DASHBOARDS_DIR,
    CoverageReport,
    DashboardQuery,
    check_coverage,
    defined_metric_names,
    iter_panels,
    load_dashboard_queries,
    load_dashboards,
)
from sphinxctl.monitoring.promtool import (
    PromtoolResult,
    run_promtool_check,
    run_promtool_check_queries,
    run_promtool_test,
)
from sphinxctl.monitoring.rules import (
    ALERT_PREFIX,
    API_CONTAINER,
    API_NAME,
    REQUIRED_ANNOTATIONS,
    REQUIRED_GROUPS,
    RULE_TESTS_DIR,
    RULES_DIR,
    RUNBOOK,
    SEVERITIES,
    AlertRule,
    AlertTestCases,
    RecordingRule,
    alert_test_cases,
    group_names,
    lint_alert_rules,
    load_alert_rules,
    load_recording_rules,
    metric_names_in_expr,
    metric_names_in_rules,
    rule_files,
    rule_test_files,
    runbook_anchors,
)

__all__ = [
    "ALERT_PREFIX",
    "API_CONTAINER",
    "API_NAME",
    "DASHBOARDS_DIR",
    "REQUIRED_ANNOTATIONS",
    "REQUIRED_GROUPS",
    "RULES_DIR",
    "RULE_TESTS_DIR",
    "RUNBOOK",
    "SEVERITIES",
    "AlertRule",
    "AlertTestCases",
    "CoverageReport",
    "DashboardQuery",
    "PromtoolResult",
    "RecordingRule",
    "alert_test_cases",
    "check_coverage",
    "defined_metric_names",
    "group_names",
    "iter_panels",
    "lint_alert_rules",
    "load_alert_rules",
    "load_dashboard_queries",
    "load_dashboards",
    "load_recording_rules",
    "metric_names_in_expr",
    "metric_names_in_rules",
    "rule_files",
    "rule_test_files",
    "run_promtool_check",
    "run_promtool_check_queries",
    "run_promtool_test",
    "runbook_anchors",
]
