"""Cold compile vs warm (cached) compile of the platform contracts, in one run.

Cold: a fresh temporary project (the repository's contracts/ and node_modules/ linked in, an
empty build/), so the compiler backend is set up and every source compiled. Warm: the same call
again, which must find the cache key unchanged and only read the artifacts back. Goal: warm <= 5%
of cold. Usage: `.venv/bin/python bench/bench_compile.py [--tests] [--warm-runs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sphinxctl.solidity.compiler import compile_contracts  # noqa: E402

GOAL = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", action="store_true", help="also compile contracts/test")
    parser.add_argument("--warm-runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-compile-") as tmp:
        project = Path(tmp)
        (project / "contracts").symlink_to(ROOT / "contracts")
        (project / "node_modules").symlink_to(ROOT / "node_modules")

        started = time.perf_counter()
        cold = compile_contracts(project, include_tests=args.tests)
        cold_s = time.perf_counter() - started
        assert not cold.cached

        warm_times = []
        for _ in range(args.warm_runs):
            started = time.perf_counter()
            warm = compile_contracts(project, include_tests=args.tests)
            warm_times.append(time.perf_counter() - started)
            assert warm.cached and warm.artifacts == cold.artifacts
        warm_s = statistics.median(warm_times)

    ratio = warm_s / cold_s
    print(f"compiler:      {cold.compiler}")
    print(f"contracts:     {len(cold.artifacts)} ({', '.join(sorted(cold.artifacts))})")
    print(f"cold compile:  {cold_s:8.3f} s")
    print(f"warm (cached): {warm_s:8.3f} s  (median of {args.warm_runs})")
    verdict = "met" if ratio <= GOAL else "MISSED"
    print(f"ratio warm/cold: {ratio:.2%}  (goal <= {GOAL:.0%}: {verdict})")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
