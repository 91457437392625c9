"""Slither (High/Medium findings must be triaged) and solhint (recommended rules) on contracts/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sphinxctl.solidity.analysis import read_triage, run_slither, run_solhint
from tests.support.chain import ROOT


@pytest.mark.integration
def test_slither_finds_no_untriaged_high_or_medium_issue() -> None:
    report = run_slither(ROOT)
    assert report.findings, "slither reported nothing at all: is it really analysing the contracts?"
    untriaged = [
        f"{f.impact} {f.check} at {f.location}: {f.description[:300]}" for f in report.untriaged
    ]
    assert untriaged == [], (
        "triage these in contracts/SLITHER_TRIAGE.md or fix them:\n" + "\n".join(untriaged)
    )
    # Every accepted row still matches a finding: stale triage entries hide nothing but rot.
    seen = {f.key for f in report.findings}
    stale = {key for key in read_triage(ROOT) if key[0] != "detector"} - seen
    assert stale == set(), f"triage rows without a finding (remove them): {sorted(stale)}"


@pytest.mark.integration
def test_solhint_recommended_rules_are_clean() -> None:
    report = run_solhint(ROOT)
    assert report.clean, "\n".join(report.problems)


def test_solhint_config_is_the_recommended_set() -> None:
    config = json.loads((ROOT / ".solhint.json").read_text())
    assert config["extends"] == "solhint:recommended"
    # Only two documented adjustments: pin the exact compiler, and the rule's own advice for
    # solidity >= 0.7 (constructors have no visibility).
    assert config["rules"] == {
        "compiler-version": ["error", "0.8.37"],
        "func-visibility": ["warn", {"ignoreConstructors": True}],
    }


@pytest.mark.integration
def test_solhint_reports_a_violation(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    shutil.copy(ROOT / ".solhint.json", tmp_path / ".solhint.json")
    (tmp_path / "contracts" / "Sloppy.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\n\n"
        "contract Sloppy {\n    uint x;\n"
        "    function f() public { require(x == 0, 'a reason string that is far too long'); }\n}\n"
    )
    report = run_solhint(tmp_path)
    assert not report.clean
    assert any("Sloppy.sol:" in line and "reason-string" in line for line in report.problems), (
        report.problems
    )
