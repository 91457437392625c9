"""Run Foundry's forge (npm @foundry-rs/forge) offline on the project, with the solc-js wrapper
that `sphinxctl.solidity.backend` generates (foundry.toml names it; it must exist first)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sphinxctl.solidity.backend import solcjs_wrapper
from tests.support.chain import ROOT

FORGE = ROOT / "node_modules" / ".bin" / "forge"


def run_forge(*args: str, env: dict[str, str] | None = None, timeout: int = 900) -> str:
    """forge's stdout; a non-zero exit fails with its output."""
    wrapper = solcjs_wrapper(ROOT)
    assert wrapper.executable == ROOT / "build" / "solc-shim" / "solc", wrapper
    assert FORGE.exists(), "run `bash scripts/setup.sh` (npm ci installs @foundry-rs/forge)"
    proc = subprocess.run(
        [str(FORGE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, (
        f"forge {' '.join(args)} failed:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"
    )
    return proc.stdout


def coverage_rows(summary: str) -> dict[str, tuple[float, float]]:
    """File -> (lines %, branches %) from `forge coverage --report summary`."""
    rows: dict[str, tuple[float, float]] = {}
    for line in summary.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].endswith(".sol"):
            continue
        rows[Path(cells[0]).as_posix()] = (_percent(cells[1]), _percent(cells[3]))
    return rows


def _percent(cell: str) -> float:
    return float(cell.split("%")[0])
