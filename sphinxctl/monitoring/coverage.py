"""Coverage: the metrics rules and dashboards use against the metrics the code defines.

Both directions: a `sphinxos_*` name no collector defines is an error (a typo or a removed
metric), and so is a family in `sphinxctl.metrics.ALERTED_FAMILIES` nothing watches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from sphinxctl.errors import MonitoringError
from sphinxctl.monitoring.rules import (
    RecordingRule,
    load_alert_rules,
    load_recording_rules,
    metric_names_in_expr,
    metric_names_in_rules,
)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

DASHBOARDS_DIR = "manifests/grafana/dashboards"
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


class DashboardQuery(BaseModel):
    """One PromQL target of a Grafana dashboard panel."""

    model_config = ConfigDict(frozen=True)

    dashboard: str
    file: str
    panel: str
    expr: str


class CoverageReport(BaseModel):
    """Rules and dashboards compared with the metrics the code defines."""

    undefined_metrics: dict[str, list[str]] = {}
    unknown_recordings: dict[str, list[str]] = {}
    families_without_alert: list[str] = []
    families_without_panel: list[str] = []
    uncovered_families: list[str] = []

    @property
    def ok(self) -> bool:
        return not (self.undefined_metrics or self.unknown_recordings or self.uncovered_families)


def defined_metric_names(registry: CollectorRegistry | None = None) -> set[str]:
    """Every sample name the registry's collectors expose (with _total/_bucket/... suffixes)."""
    if registry is None:
        from sphinxctl.metrics import REGISTRY

        registry = REGISTRY
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def load_dashboards(root: Path) -> dict[str, dict[str, Any]]:
    """Dashboard JSON documents by file name."""
    dashboards: dict[str, dict[str, Any]] = {}
    for path in sorted((root / DASHBOARDS_DIR).glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MonitoringError(f"cannot read dashboard {path}: {exc}") from exc
        if not isinstance(doc, dict):
            raise MonitoringError(f"dashboard {path} is not a JSON object")
        dashboards[path.name] = doc
    return dashboards


def iter_panels(dashboard: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def load_dashboard_queries(root: Path) -> list[DashboardQuery]:
    return [
        DashboardQuery(
            dashboard=str(doc.get("title", file)),
            file=file,
            panel=str(panel.get("title", "")),
            expr=str(target["expr"]),
        )
        for file, doc in load_dashboards(root).items()
        for panel in iter_panels(doc)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def _covers(family: str, names: set[str]) -> bool:
    return any(family + suffix in names for suffix in ("", "_bucket", "_sum", "_count"))


def check_coverage(
    root: Path,
    registry: CollectorRegistry | None = None,
    families: Sequence[str] | None = None,
) -> CoverageReport:
    """Compare the rules and dashboards with the metrics the code defines, both ways."""
    if families is None:
        from sphinxctl.metrics import ALERTED_FAMILIES

        families = ALERTED_FAMILIES
    defined = defined_metric_names(registry)
    alerts = load_alert_rules(root)
    recordings = load_recording_rules(root)
    recorded = {rec.name for rec in recordings}
    queries = load_dashboard_queries(root)
    users = [(f"{a.file}: {a.name}", a.expr) for a in alerts]
    users += [(f"{r.file}: {r.name}", r.expr) for r in recordings]
    users += [(f"{q.file}: {q.panel}", q.expr) for q in queries]
    undefined: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for where, expr in users:
        for name in sorted(metric_names_in_expr(expr)):
            if name.startswith("sphinxos_") and name not in defined:
                undefined.setdefault(name, []).append(where)
            elif ":" in name and name not in recorded:
                unknown.setdefault(name, []).append(where)
    alerted = metric_names_in_rules(alerts, recordings)
    on_panels = metric_names_in_rules(
        [RecordingRule(name=q.panel, group="", file=q.file, expr=q.expr) for q in queries],
        recordings,
    )
    return CoverageReport(
        undefined_metrics=undefined,
        unknown_recordings=unknown,
        families_without_alert=[f for f in families if not _covers(f, alerted)],
        families_without_panel=[f for f in families if not _covers(f, on_panels)],
        uncovered_families=[f for f in families if not _covers(f, alerted | on_panels)],
    )
