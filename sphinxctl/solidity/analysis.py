"""Static analysis of the production contracts: Slither (with triage) and solhint.

Slither runs from its own virtualenv (`.venv-tools/`, its web3 pin conflicts with ours) through
the same compiler as `compile_contracts`: crytic-compile's standard-JSON platform is given the
exact sources and settings we compile with (plus the AST Slither needs) and the backend's
executable (native solc or the solc-js shim wrapper).

Triage: `contracts/SLITHER_TRIAGE.md` holds a table whose rows start with
`| <detector> | <Contract.function> |`; a High or Medium finding is accepted only when a row
with its detector and location exists (the rest of the row is the reason).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sphinxctl.errors import CompileError
from sphinxctl.solidity.backend import Backend, select_backend
from sphinxctl.solidity.profile import (
    BUILD_DIR,
    CONTRACTS_DIR,
    TEST_CONTRACTS_DIR,
    compiler_settings,
)
from sphinxctl.solidity.sources import collect, discover

TRIAGE_FILE = "contracts/SLITHER_TRIAGE.md"
SLITHER = ".venv-tools/bin/slither"
SOLHINT = "node_modules/.bin/solhint"
SEVERE = ("High", "Medium")
_SLITHER_OUTPUTS = ["abi", "metadata", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode"]
_TRIAGE_ROW = re.compile(r"^\|\s*`?([a-z0-9-]+)`?\s*\|\s*`?([A-Za-z0-9_.]+)`?\s*\|", re.MULTILINE)


class Finding(BaseModel):
    """One Slither result, reduced to what triage needs."""

    check: str
    impact: str
    confidence: str
    location: str
    description: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.check, self.location)


class SlitherReport(BaseModel):
    """All findings, and the High/Medium ones without a triage entry."""

    findings: list[Finding]
    untriaged: list[Finding]
    triaged: list[Finding]


def _location(element: dict[str, Any]) -> str:
    """`Contract.function` (or `Contract.variable`, or `Contract`) of a result's first element."""
    names: list[str] = []
    node: dict[str, Any] | None = element
    while node is not None:
        if node.get("type") in ("function", "contract", "variable") and node.get("name"):
            names.append(str(node["name"]))
        node = (node.get("type_specific_fields") or {}).get("parent")
    return ".".join(reversed(names)) or "?"


def parse_findings(slither_json: dict[str, Any]) -> list[Finding]:
    """Findings out of Slither's `--json` output."""
    findings = []
    for result in slither_json.get("results", {}).get("detectors", []):
        elements = result.get("elements") or [{}]
        findings.append(
            Finding(
                check=result["check"],
                impact=result["impact"],
                confidence=result["confidence"],
                location=_location(elements[0]),
                description=result.get("description", "").strip(),
            )
        )
    return findings


def read_triage(root: Path) -> set[tuple[str, str]]:
    """(detector, location) pairs accepted in the triage file."""
    path = root / TRIAGE_FILE
    if not path.is_file():
        return set()
    return {
        (m.group(1), m.group(2)) for m in _TRIAGE_ROW.finditer(path.read_text(encoding="utf-8"))
    }


def slither_input(root: Path) -> dict[str, Any]:
    """The standard-JSON input of the production contracts, with the outputs Slither reads."""
    sources = collect(root, discover(root, CONTRACTS_DIR, (TEST_CONTRACTS_DIR,)))
    settings = compiler_settings(_SLITHER_OUTPUTS)
    settings["outputSelection"]["*"][""] = ["ast"]
    return {
        "language": "Solidity",
        "sources": {name: {"content": source.content} for name, source in sources.items()},
        "settings": settings,
    }


def run_slither(
    root: Path, *, backend: Backend | None = None, timeout: float = 600
) -> SlitherReport:
    """Run Slither on the production contracts and sort its findings against the triage file."""
    root = root.resolve()
    slither = root / SLITHER
    if not slither.is_file():
        raise CompileError(
            f"slither is not installed at {slither}",
            hint="python3 -m venv .venv-tools && "
            ".venv-tools/bin/pip install -r requirements/slither.txt",
        )
    backend = backend or select_backend(root)
    work = root / BUILD_DIR / "slither"
    work.mkdir(parents=True, exist_ok=True)
    (work / "input.json").write_text(json.dumps(slither_input(root)), encoding="utf-8")
    report_path = work / "report.json"
    report_path.unlink(missing_ok=True)
    command = [
        str(slither), str(work / "input.json"),
        "--compile-force-framework", "solc-json",
        "--solc", str(backend.executable),
        "--solc-working-dir", str(root),
        "--filter-paths", "node_modules|@openzeppelin",
        "--exclude-dependencies",
        "--json", str(report_path),
    ]  # fmt: skip
    # cwd outside the project: crytic-compile looks for a framework config (our foundry.toml)
    # in the cwd and its parents even when the framework is forced, then runs `forge config`.
    with tempfile.TemporaryDirectory(prefix="sphinx-slither-") as cwd:
        proc = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    try:
        data = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CompileError(
            f"slither produced no report (exit {proc.returncode}): {proc.stderr.strip()[-800:]}"
        ) from None
    if not data.get("success", False):
        raise CompileError(f"slither failed: {str(data.get('error'))[-800:]}")
    findings = parse_findings(data)
    accepted = read_triage(root)
    severe = [f for f in findings if f.impact in SEVERE]
    return SlitherReport(
        findings=findings,
        untriaged=[f for f in severe if f.key not in accepted],
        triaged=[f for f in severe if f.key in accepted],
    )


class LintReport(BaseModel):
    """solhint's verdict: problems as `file:line:col rule message` lines."""

    clean: bool
    problems: list[str]


def run_solhint(root: Path, *, timeout: float = 300) -> LintReport:
    """solhint with the committed `.solhint.json` (recommended rules) over every contract."""
    root = root.resolve()
    solhint = root / SOLHINT
    if not solhint.is_file():
        raise CompileError(f"solhint is not installed at {solhint}", hint="run `npm ci`")
    proc = subprocess.run(
        [str(solhint), "--formatter", "unix", "--max-warnings", "0", f"{CONTRACTS_DIR}/**/*.sol"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    problems = [line for line in proc.stdout.splitlines() if re.match(r"^\S+\.sol:\d+:\d+:", line)]
    if proc.returncode != 0 and not problems:
        problems = [
            f"solhint exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-500:]}"
        ]
    return LintReport(clean=proc.returncode == 0 and not problems, problems=problems)
