"""Every alert the operator documents name exists in alert_rules/: a procedure that says "watch
SphinxFoo" must not send anyone looking for an alert that never fires."""

from __future__ import annotations

import re
from pathlib import Path

from sphinxctl import monitoring

NAME = re.compile(r"\bSphinx[A-Z][A-Za-z0-9]*\b")
DECLARATION = re.compile(r"^\s*(?:abstract\s+)?(?:contract|interface|library)\s+(\w+)", re.M)


def documents(root: Path) -> list[Path]:
    return [root / "README.md", root / "CHECKLIST.md", *sorted((root / "docs").glob("**/*.md"))]


def solidity_names(root: Path) -> set[str]:
    """Contract, interface and library names: `Sphinx...` words that are not alerts."""
    names: set[str] = set()
    for source in (root / "contracts").glob("**/*.sol"):
        names.update(DECLARATION.findall(source.read_text(encoding="utf-8")))
    return names


def unknown_alerts(text: str, alerts: set[str], other_names: set[str]) -> list[str]:
    return sorted({n for n in NAME.findall(text) if n not in alerts and n not in other_names})


def test_every_alert_named_in_the_docs_exists(project_root: Path) -> None:
    alerts = {a.name for a in monitoring.load_alert_rules(project_root)}
    contracts = solidity_names(project_root)
    assert "SphinxYieldAggregator" in contracts and "SphinxApiDown" in alerts
    wrong = {
        str(path.relative_to(project_root)): found
        for path in documents(project_root)
        if (found := unknown_alerts(path.read_text(encoding="utf-8"), alerts, contracts))
    }
    assert wrong == {}


def test_a_misnamed_alert_is_caught() -> None:
    text = "Watch `SphinxApiHighErrorRate` and `SphinxApiErrorRatioHigh` on SphinxYieldAggregator."
    found = unknown_alerts(text, {"SphinxApiErrorRatioHigh"}, {"SphinxYieldAggregator"})
    assert found == ["SphinxApiHighErrorRate"]
