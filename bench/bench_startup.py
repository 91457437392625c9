"""Start-up time: `sphinxctl --help` against a minimal typer app's `--help`, same run.

Goal: sphinxctl within 1.3x of the minimal app. Prints both medians and the ratio.
Run: .venv/bin/python bench/bench_startup.py [runs]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(cmd: list[str], runs: int) -> float:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    sphinxctl = [str(Path(sys.executable).with_name("sphinxctl")), "--help"]
    baseline = [sys.executable, str(HERE / "minimal_typer_app.py"), "--help"]
    measure(sphinxctl, 2), measure(baseline, 2)  # warm the page cache
    # Interleave so drift on a shared machine hits both alike.
    ours, base = [], []
    for _ in range(runs):
        ours.append(measure(sphinxctl, 1))
        base.append(measure(baseline, 1))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"sphinxctl --help        median {o * 1000:7.1f} ms over {runs} runs")
    print(f"minimal typer --help    median {b * 1000:7.1f} ms over {runs} runs")
    print(f"ratio                   {o / b:7.2f}x  (goal <= 1.30x)")


if __name__ == "__main__":
    main()
