"""CHECKLIST.md and the check registry stay in sync, both ways; the file's format holds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sphinxctl.checks.checklist import AREAS, load_checklist, parse_checklist, resolve_areas
from sphinxctl.checks.registry import registry
from sphinxctl.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def items():
    return load_checklist(ROOT)


def test_every_automated_item_has_a_registered_check_under_its_id(items) -> None:
    checks = registry()
    for item in items:
        if item.kind == "automated":
            assert item.id in checks, f"{item.id} names `{item.check}` but no check has its id"
            assert checks[item.id].name == item.check, item.id


def test_every_registered_check_has_an_automated_item(items) -> None:
    automated = {item.id: item.check for item in items if item.kind == "automated"}
    for check_id, check in registry().items():
        assert automated.get(check_id) == check.name, f"{check_id} {check.name} not in CHECKLIST"


def test_checklist_covers_every_area_with_over_a_hundred_items(items) -> None:
    assert len(items) >= 100
    per_area = Counter(item.area for item in items)
    assert set(per_area) == {key for key, _ in AREAS.values()}
    manual = [item for item in items if item.kind == "manual"]
    assert all(item.evidence for item in manual)


def test_the_issue_s_automated_checks_and_backup_items_exist(items) -> None:
    names = {item.check for item in items if item.kind == "automated"}
    required = {
        "config-no-placeholder-addresses", "config-secrets-set", "jwt-secret-strength",
        "jwt-algorithm-policy", "cors-policy", "rpc-chain-id", "rpc-head-healthy",
        "deployer-balance", "contract-code-matches", "contracts-not-paused",
        "aggregator-not-shutdown", "safe-holds-admin", "safe-owners-threshold",
        "deployer-holds-no-role", "role-holder-kinds", "slither-triage-current",
        "k8s-objects-match", "alert-rules-valid", "alert-metric-coverage", "api-ready",
        "redis-reachable", "redis-failure-mode", "backup-recent",
    }  # fmt: skip
    assert required <= names
    texts = " ".join(item.text for item in items if item.area == "backups")
    assert "restore" in texts and "backup" in texts


def test_malformed_rows_are_reported_with_their_line() -> None:
    good = "## Deployment (DEP)\n| DEP-001 | x | automated: `a-check` |\n"
    assert parse_checklist(good)[0].check == "a-check"
    for bad, message in [
        ("## Deployment (DEP)\n| DEP-001 | x | someday |\n", "row must be"),
        ("## Deployment (DEP)\n| CTR-001 | x | manual: y |\n", "outside its area"),
        ("## Deployment (DEP)\n| DEP-001 | x | manual: y |\n| DEP-001 | z | manual: y |\n",
         "duplicate id"),
        ("## Deployment (DEP)\n| DEP-001 | x | automated: no backticks |\n", "name their check"),
        ("## Other (XYZ)\n", "unknown area"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError, match=message) as err:
            parse_checklist(bad, "CHECKLIST.md")
        assert "CHECKLIST.md:" in err.value.message


def test_only_accepts_area_names_and_prefixes_in_any_case() -> None:
    assert resolve_areas(["CTR", "chains,Keys"]) == ["contracts", "chains", "keys"]
    assert len(resolve_areas([])) == len(AREAS)
    with pytest.raises(UsageError, match="unknown area 'nope'"):
        resolve_areas(["nope"])


def test_every_automated_check_has_a_test_that_breaks_only_it() -> None:
    import re

    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    broken = set(re.findall(r'assert_only_failure\([^)]*"([A-Z]{3}-\d{3})"\)', sources))
    assert broken == set(registry()), sorted(set(registry()) ^ broken)
