"""Manual items: signed off in deployments/<env>.attestations.yaml, reported when not."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sphinxctl.checks import Status
from sphinxctl.checks.attestations import load_attestations
from sphinxctl.checks.checklist import load_checklist
from tests.support.checks_env import Runner, assert_only_failure, by_id

TODAY = date(2026, 11, 29)


def _write(project: Path, env: str, body: str) -> None:
    (project / "deployments" / f"{env}.attestations.yaml").write_text(body)


def _load(project: Path, body: str):
    _write(project, "local", body)
    return load_attestations(project, "local", load_checklist(project), today=TODAY)


def test_valid_attestations_count_and_bad_ones_are_named(project: Path) -> None:
    (project / "audit.pdf").write_text("report")
    found = _load(
        project,
        """attestations:
  - {id: CTR-003, who: alice@sphinx.example, when: 2026-11-20, evidence: https://audit.example/r.pdf}
  - {id: CTR-004, who: bob, when: 2026-11-21, evidence: audit.pdf}
  - {id: CTR-005, who: carol, when: 2027-01-01, evidence: https://x.example}
  - {id: CTR-006, who: dan, when: 2025-01-01, evidence: https://x.example}
  - {id: CTR-001, who: erin, when: 2026-11-20, evidence: https://x.example}
  - {id: XYZ-001, who: frank, when: 2026-11-20, evidence: https://x.example}
  - {id: CTR-007, who: gina, when: 2026-11-20, evidence: not-a-file.txt}
  - {id: CTR-008, when: 2026-11-20, evidence: https://x.example}
  - {id: CTR-003, who: alice, when: 2026-11-22, evidence: https://x.example}
""",
    )
    assert set(found.valid) == {"CTR-003", "CTR-004"}
    problems = "\n".join(found.problems)
    assert "entry 3 (CTR-005): dated in the future" in problems
    assert "entry 4 (CTR-006): older than 180 days" in problems
    assert "entry 5 (CTR-001): automated items are checked, not attested" in problems
    assert "entry 6" in problems
    assert "entry 7 (CTR-007): evidence 'not-a-file.txt'" in problems
    assert "entry 8: who: Field required" in problems
    assert "entry 9 (CTR-003): attested twice" in problems


def test_malformed_file_is_a_problem_not_a_crash(project: Path) -> None:
    assert "unreadable" in _load(project, "attestations: [unclosed\n").problems[0]
    assert "expected a top-level" in _load(project, "- id: CTR-003\n").problems[0]


def test_attested_manual_item_passes_and_unattested_ones_fail_the_run(
    project: Path, run: Runner
) -> None:
    _write(project, "local", "attestations:\n  - {id: INC-001, who: ops, when: "
           f"{date.today().isoformat()}, evidence: https://wiki.example/runbook}}\n")  # fmt: skip
    strict = run("local", areas=["incident"], allow_manual=False)
    results = by_id(strict)
    assert results["INC-001"].status == Status.PASS
    assert "attested by ops" in results["INC-001"].reason
    assert results["INC-002"].status == Status.MANUAL
    assert "testnet Safe transaction hashes" in results["INC-002"].reason
    assert not strict.ok and "INC-002" in [r.id for r in strict.failing()]
    assert run("local", areas=["incident"], allow_manual=True).ok


@pytest.mark.integration
def test_invalid_attestation_fails_only_lch_002(project: Path, run: Runner) -> None:
    before = run("local")
    _write(project, "local", "attestations:\n  - {id: CTR-001, who: x, when: 2026-01-01, "
           "evidence: https://x.example}\n")  # fmt: skip
    after = run("local")
    assert_only_failure(before, after, "LCH-002")
    assert "automated items are checked" in by_id(after)["LCH-002"].reason


@pytest.mark.parametrize("env", ["mainnet"])
def test_mainnet_without_testnet_record_fails_lch_001(project: Path, run: Runner, env: str) -> None:
    result = by_id(run(env, areas=["launch"]))["LCH-001"]
    assert result.status == Status.FAIL
    assert "no testnet deployment record" in result.reason
