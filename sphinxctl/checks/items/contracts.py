"""Contracts and audits: the build is current and Slither's findings are triaged."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import Blocked, Outcome, check, failed, passed

if TYPE_CHECKING:
    from sphinxctl.solidity.artifacts import Artifact

SLITHER_REPORT = "build/slither/report.json"
SLITHER_INPUT = "build/slither/input.json"
COMPILE_HINT = "run `sphinxctl contracts compile`"


def build_problems(ctx: CheckContext) -> list[str]:
    """Why build/artifacts does not match the committed sources and the pinned profile."""
    from sphinxctl.solidity import profile
    from sphinxctl.solidity.artifacts import read_manifest
    from sphinxctl.solidity.compiler import cache_key
    from sphinxctl.solidity.sources import collect, discover

    root = ctx.project_root
    manifest = read_manifest(root / profile.ARTIFACTS_DIR)
    if manifest is None:
        return [f"no compiled contracts in {profile.ARTIFACTS_DIR}"]
    problems = []
    if manifest.compiler_version.split("+")[0] != profile.COMPILER_VERSION:
        problems.append(
            f"built with solc {manifest.compiler_version}, pinned {profile.COMPILER_VERSION}"
        )
    if (manifest.evm_version, manifest.optimizer_runs) != (
        profile.EVM_VERSION,
        profile.OPTIMIZER_RUNS,
    ):
        problems.append("built with another EVM target or optimizer setting")
    sources = collect(root, discover(root, profile.CONTRACTS_DIR, (profile.TEST_CONTRACTS_DIR,)))
    key = cache_key(sources, profile.compiler_settings(), manifest.compiler_version)
    if key != manifest.cache_key:
        changed = sorted(
            name
            for name in set(sources) | set(manifest.sources)
            if (sources[name].sha256 if name in sources else None) != manifest.sources.get(name)
        )
        problems.append(
            "sources changed since the build: " + (", ".join(changed) or "compiler settings")
        )
    return problems


def current_artifacts(ctx: CheckContext) -> dict[str, Artifact]:
    """The compiled artifacts, Blocked by CTR-001 unless they match the current sources."""
    from sphinxctl.solidity.artifacts import load_artifacts

    def load() -> dict[str, Artifact]:
        problems = build_problems(ctx)
        if problems:
            raise Blocked("CTR-001", "; ".join(problems), COMPILE_HINT)
        return load_artifacts(ctx.project_root)

    return ctx.memo("artifacts", load)


@check("CTR-001", "contracts-build-current")
def contracts_build_current(ctx: CheckContext) -> Outcome:
    """The compiled artifacts come from the committed sources with the pinned profile."""
    from sphinxctl.solidity import profile

    problems = build_problems(ctx)
    if problems:
        return failed("; ".join(problems), COMPILE_HINT)
    return passed(
        f"build/artifacts current (solc {profile.COMPILER_VERSION}, {profile.EVM_VERSION}, "
        f"{profile.OPTIMIZER_RUNS} runs)"
    )


@check("CTR-002", "slither-triage-current")
def slither_triage_current(ctx: CheckContext) -> Outcome:
    """Slither ran on the current sources and each High/Medium finding is triaged."""
    from sphinxctl.solidity.analysis import (
        SEVERE,
        TRIAGE_FILE,
        parse_findings,
        read_triage,
        slither_input,
    )

    root = ctx.project_root
    run_hint = (
        'run Slither: `.venv/bin/python -c "from pathlib import Path; '
        "from sphinxctl.solidity.analysis import run_slither; run_slither(Path('.'))\"`"
    )
    try:
        ran_on = json.loads((root / SLITHER_INPUT).read_text(encoding="utf-8"))
        report = json.loads((root / SLITHER_REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return failed(f"no Slither report in {SLITHER_REPORT}", run_hint)
    if ran_on != slither_input(root):
        return failed("the Slither report is older than the current sources", run_hint)
    if not report.get("success", False):
        return failed("the last Slither run failed", run_hint)
    accepted = read_triage(root)
    severe = [f for f in parse_findings(report) if f.impact in SEVERE]
    untriaged = [f for f in severe if f.key not in accepted]
    if untriaged:
        names = ", ".join(f"{f.check} in {f.location} ({f.impact})" for f in untriaged)
        return failed(
            f"{len(untriaged)} High/Medium finding(s) not triaged: {names}",
            f"fix them, or add a row with the detector, location and reason to {TRIAGE_FILE}",
        )
    return passed(f"{len(severe)} High/Medium finding(s), all triaged in {TRIAGE_FILE}")
