"""Foundry: the regression tests of issue 13, the vault invariants (>= 256 runs x depth 100) and
coverage of the two production contracts (>= 95 % lines, >= 90 % branches), run by forge."""

from __future__ import annotations

import re

import pytest

from tests.support.forge import coverage_rows, run_forge

pytestmark = pytest.mark.integration
CONTRACTS = ("contracts/SphinxYieldAggregator.sol", "contracts/SpaceFlightNFT.sol")


def test_forge_regressions_and_invariants_pass(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_forge("test", "--summary")
    with capsys.disabled():
        print(
            "\n"
            + "\n".join(
                line for line in out.splitlines() if "invariant_" in line or "Suite" in line
            )
        )
    invariant = re.search(r"invariant_vault\(\) \(runs: (\d+), calls: (\d+), reverts: (\d+)\)", out)
    assert invariant is not None, out[-2000:]
    runs, calls, reverts = (int(g) for g in invariant.groups())
    assert runs >= 256 and calls >= 256 * 100 and reverts == 0
    assert "test_lossIsSharedProRataNotFirstComeFirstServed" in out
    assert re.search(r"\b0 failed", out), out[-2000:]


def test_forge_coverage_of_the_contracts_meets_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    # Coverage needs every line hit, not the full campaign: a shorter invariant run suffices.
    out = run_forge(
        "coverage", "--report", "summary", env={"FOUNDRY_INVARIANT_RUNS": "32"}, timeout=1200
    )
    rows = coverage_rows(out)
    with capsys.disabled():
        for name in CONTRACTS:
            print(f"\ncoverage {name}: lines {rows[name][0]}%, branches {rows[name][1]}%", end="")
    for name in CONTRACTS:
        lines, branches = rows[name]
        assert lines >= 95.0, f"{name}: {lines}% of lines"
        assert branches >= 90.0, f"{name}: {branches}% of branches"
