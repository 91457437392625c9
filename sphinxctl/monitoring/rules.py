"""Alert rules as typed models: load them, find the metric names they use, and lint their shape.

promtool parses and evaluates the rules; this module checks what promtool does not: the six
groups, names, severities, annotations, runbook anchors and that every alert has test cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from sphinxctl.errors import MonitoringError

RULES_DIR = "alert_rules"
RULE_TESTS_DIR = "alert_rules/tests"
RUNBOOK = "docs/RUNBOOK.md"
REQUIRED_GROUPS = ("critical", "security", "performance", "blockchain", "database", "business")
SEVERITIES = ("critical", "warning", "info")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
ALERT_PREFIX = "Sphinx"
# What the rules select the API by (manifests/api.yaml and the Prometheus scrape config):
# scrape job, Deployment and HPA are named API_NAME, its container API_CONTAINER.
API_NAME = "sphinx-api"
API_CONTAINER = "api"

_ALERT_NAME = re.compile(rf"^{ALERT_PREFIX}(?:[A-Z][a-z0-9]*)+$")
_COMPARISON = re.compile(r"==|!=|>=|<=|(?<![=!<>])[<>](?![=])")
_DURATION = re.compile(r"^(?:\d+(?:ms|[smhdwy]))+$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_TEMPLATE_VAR = re.compile(r"\$\{[^}]*\}|\$\w+")
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w:.])[A-Za-z_:][\w:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"offset", "bool", "inf", "nan", "atan2"}
)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class AlertRule(BaseModel):
    """One alerting rule, with the group and file it comes from."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str
    group: str
    file: str
    expr: str
    for_: str | None = Field(default=None, alias="for")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")

    @property
    def runbook_anchor(self) -> str | None:
        """The `#anchor` of the runbook_url annotation, if it points into the runbook."""
        url = self.annotations.get("runbook_url", "")
        head, sep, anchor = url.partition("#")
        return anchor if sep and head.endswith(RUNBOOK.rsplit("/", 1)[-1]) else None


class RecordingRule(BaseModel):
    """One recording rule (a named, precomputed expression)."""

    model_config = ConfigDict(frozen=True)

    name: str
    group: str
    file: str
    expr: str
    labels: dict[str, str] = {}


class AlertTestCases(BaseModel):
    """How many promtool test cases expect an alert to stay quiet and to fire."""

    quiet: int = 0
    firing: int = 0


def rule_files(root: Path) -> list[Path]:
    """The rule files under alert_rules/ (not their tests), sorted."""
    return sorted((root / RULES_DIR).glob("*.yaml"))


def rule_test_files(root: Path) -> list[Path]:
    return sorted((root / RULE_TESTS_DIR).glob("*.yaml"))


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MonitoringError(f"cannot read {path}: {exc}", details={"file": str(path)}) from exc


def _groups(root: Path) -> Iterable[tuple[str, str, list[dict[str, Any]]]]:
    files = rule_files(root)
    if not files:
        raise MonitoringError(f"no rule files under {root / RULES_DIR}")
    for path in files:
        doc = _load_yaml(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            raise MonitoringError(f"{path}: expected a mapping with a `groups` list")
        for group in doc["groups"]:
            rules = group.get("rules") if isinstance(group, dict) else None
            if not isinstance(rules, list):
                raise MonitoringError(f"{path}: every group needs a name and a `rules` list")
            yield str(group.get("name")), path.name, rules


def load_alert_rules(root: Path) -> list[AlertRule]:
    """Every alerting rule under alert_rules/, in file and group order."""
    return [
        AlertRule.model_validate(
            {
                "name": str(rule["alert"]),
                "group": group,
                "file": file,
                "expr": str(rule.get("expr", "")),
                "for": None if rule.get("for") is None else str(rule["for"]),
                "labels": {str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                "annotations": {str(k): str(v) for k, v in (rule.get("annotations") or {}).items()},
            }
        )
        for group, file, rules in _groups(root)
        for rule in rules
        if "alert" in rule
    ]


def load_recording_rules(root: Path) -> list[RecordingRule]:
    """Every recording rule under alert_rules/."""
    return [
        RecordingRule(
            name=str(rule["record"]),
            group=group,
            file=file,
            expr=str(rule.get("expr", "")),
            labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
        )
        for group, file, rules in _groups(root)
        for rule in rules
        if "record" in rule
    ]


def group_names(root: Path) -> list[str]:
    return [group for group, _file, _rules in _groups(root)]


def metric_names_in_expr(expr: str) -> set[str]:
    """Metric (and recording rule) names a PromQL expression selects.

    A lexical scan, not a parser (promtool is the parser): label matchers, strings, ranges
    and grouping clauses are removed, then identifiers that are not keywords or function
    calls are names.
    """
    text = _TEMPLATE_VAR.sub(" ", _STRING.sub('""', expr))
    for pattern in (_BRACES, _BRACKETS, _GROUPING):
        text = pattern.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group()
        rest = text[match.end() :].lstrip()
        if word in _KEYWORDS or rest.startswith("("):
            continue
        names.add(word)
    return names


def metric_names_in_rules(
    rules: Iterable[AlertRule | RecordingRule], recordings: Sequence[RecordingRule] = ()
) -> set[str]:
    """Names the rules use, following recording rules in `recordings` to what they use."""
    by_name = {rec.name: rec for rec in recordings}
    seen: set[str] = set()
    pending = [name for rule in rules for name in metric_names_in_expr(rule.expr)]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in by_name:
            pending.extend(metric_names_in_expr(by_name[name].expr))
    return seen


def runbook_anchors(root: Path) -> list[str]:
    """GitHub-style anchors of the runbook's headings, in order."""
    anchors: list[str] = []
    counts: dict[str, int] = {}
    in_fence = False
    for line in (root / RUNBOOK).read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(2).strip().lower()).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.append(slug if n == 0 else f"{slug}-{n}")
    return anchors


def alert_test_cases(root: Path) -> dict[str, AlertTestCases]:
    """Per alert name, the promtool test cases that expect it quiet and firing."""
    cases: dict[str, AlertTestCases] = {}
    for path in rule_test_files(root):
        doc = _load_yaml(path) or {}
        for group in doc.get("tests") or []:
            for case in group.get("alert_rule_test") or []:
                entry = cases.setdefault(str(case.get("alertname")), AlertTestCases())
                if case.get("exp_alerts"):
                    entry.firing += 1
                else:
                    entry.quiet += 1
    return cases


def lint_alert_rules(root: Path) -> list[str]:
    """Problems with the rules' shape that promtool does not check (empty list = none)."""
    problems: list[str] = []
    alerts = load_alert_rules(root)
    groups = group_names(root)
    if sorted(groups) != sorted(REQUIRED_GROUPS):
        problems.append(f"groups are {groups}, expected exactly {list(REQUIRED_GROUPS)}")
    seen: set[str] = set()
    anchors = set(runbook_anchors(root)) if (root / RUNBOOK).is_file() else set()
    for rule in alerts:
        where = f"{rule.file}: {rule.name}"
        if rule.name in seen:
            problems.append(f"{where}: duplicate alert name")
        seen.add(rule.name)
        if not _ALERT_NAME.match(rule.name):
            problems.append(f"{where}: name is not CamelCase with prefix {ALERT_PREFIX}")
        if not _COMPARISON.search(_STRING.sub('""', _BRACES.sub(" ", rule.expr))):
            problems.append(f"{where}: expression has no comparison")
        if rule.for_ is None or not _DURATION.match(rule.for_) or not re.search("[1-9]", rule.for_):
            problems.append(f"{where}: needs a non-zero `for:` duration")
        if rule.severity not in SEVERITIES:
            problems.append(f"{where}: severity label must be one of {list(SEVERITIES)}")
        problems.extend(
            f"{where}: missing annotation {key}"
            for key in REQUIRED_ANNOTATIONS
            if not rule.annotations.get(key, "").strip()
        )
        if rule.runbook_anchor != rule.name.lower():
            problems.append(f"{where}: runbook_url must be {RUNBOOK}#{rule.name.lower()}")
        elif rule.runbook_anchor not in anchors:
            problems.append(f"{where}: {RUNBOOK} has no section #{rule.runbook_anchor}")
    cases = alert_test_cases(root)
    for rule in alerts:
        case = cases.get(rule.name, AlertTestCases())
        if not case.quiet or not case.firing:
            problems.append(
                f"{rule.file}: {rule.name}: needs promtool cases where it stays quiet and "
                f"where it fires (has {case.quiet} quiet, {case.firing} firing)"
            )
    problems.extend(
        f"{RULE_TESTS_DIR}: tests name unknown alert {name}" for name in cases if name not in seen
    )
    return problems
