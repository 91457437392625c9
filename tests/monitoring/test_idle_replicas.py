"""Idle replicas never page: every alert that aggregates across API replicas has a promtool
test with ten replicas, some idle, that shows no page, and one where the real condition holds
that shows the page (alert_rules/tests/replicas_*_test.yaml, generated from
tests/monitoring/replica_scenarios.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sphinxctl.monitoring.rules import (
    load_alert_rules,
    load_recording_rules,
    metric_names_in_rules,
)
from tests.monitoring import replica_scenarios
from tests.monitoring.replica_scenarios import PREFIX, REPLICAS, ROOT, TESTS_DIR, scenarios


def aggregating_alerts(root: Path) -> set[str]:
    """Alerts reading a series every API replica exports (sphinxos_*, the API's `up`),
    recording rules followed. Per-pod alerts (memory, CPU, restarts) read process_* and
    kube-state-metrics series, grouped by pod: no aggregation across replicas."""
    recordings = load_recording_rules(root)
    found = set()
    for rule in load_alert_rules(root):
        names = metric_names_in_rules([rule], recordings)
        api_up = "up" in names and 'job="sphinx-api"' in rule.expr
        if api_up or any(n.startswith("sphinxos_") for n in names):
            found.add(rule.name)
    return found


def test_the_generated_promtool_tests_are_current() -> None:
    expected = replica_scenarios.outputs()
    assert sorted(TESTS_DIR.glob(f"{PREFIX}*_test.yaml")) == sorted(expected)
    for path, text in expected.items():
        assert path.read_text() == text, "regenerate: python -m tests.monitoring.replica_scenarios"


def test_every_alert_that_aggregates_across_replicas_has_a_scenario() -> None:
    covered = [s.alert for s in scenarios()]
    assert len(covered) == len(set(covered))
    expected = aggregating_alerts(ROOT)
    assert len(expected) >= 30  # the detector finds them (it is not vacuous)
    assert set(covered) == expected
    assert {"SphinxApiMemoryHigh", "SphinxApiCpuHigh", "SphinxPostgresDown"}.isdisjoint(expected)


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.alert)
def test_each_scenario_runs_ten_replicas_some_idle(scenario: replica_scenarios.Scenario) -> None:
    for fleet in (scenario.quiet, scenario.firing):
        pods = {s.labels["pod"] for s in fleet}
        assert len(pods) == REPLICAS, pods
    assert scenario.fires >= 1


@pytest.mark.integration
def test_the_replica_tests_catch_a_sum_over_replicas(tmp_path: Path) -> None:
    """Mutation: SphinxTransactionFailures summed over replicas (as it once was) pages on one
    failure reported by ten replicas; the generated test must fail on exactly that alert."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (Debian's prometheus package)"
    copy = tmp_path / "alert_rules"
    shutil.copytree(ROOT / "alert_rules", copy)
    rules = copy / "blockchain.yaml"
    text = rules.read_text()
    assert "max by (chain) (sum by (chain, instance) (" in text
    rules.write_text(
        text.replace("max by (chain) (sum by (chain, instance) (", "sum by (chain) ((")
    )
    done = subprocess.run(
        [promtool, "test", "rules", f"tests/{PREFIX}blockchain_test.yaml"],
        cwd=copy, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    failed = [line for line in output.splitlines() if "alertname=" in line and "expr:" in line]
    assert failed and all("SphinxTransactionFailures" in line for line in failed), output
