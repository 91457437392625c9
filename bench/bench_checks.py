"""Checklist concurrency: total wall time of `run_checklist` vs its slowest single check.

Same run, same machine: three real anvil nodes (chain ids 1, 137, 42161) stand in for the
chains and every automated item of env `local` runs concurrently. Goal: the run's total wall
time <= 1.2x the duration of its slowest check in the same run. For context, the slowest check
is also run again on its own (on 2 busy cores the others slow it down a little).

Second figure: `sphinxctl check mainnet` (a subprocess, the repository's committed config) with
every RPC URL pointing at a loopback server that accepts connections and never answers — the
worst case for timeouts. Goal: well under 30 s.

Run: .venv/bin/python bench/bench_checks.py [runs]
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ports import HangingServer, free_port  # noqa: E402

ANVIL = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
CHAINS = {"ETHEREUM": 1, "POLYGON": 137, "ARBITRUM": 42161}


def start_anvil(chain_id: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--chain-id", str(chain_id), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"anvil (chain {chain_id}) did not start")


def project(tmp: Path) -> Path:
    root = tmp / "project"
    root.mkdir()
    for name in ("contracts", "alert_rules", "manifests", "node_modules", "build", "docs"):
        if (ROOT / name).exists():
            (root / name).symlink_to(ROOT / name)
    shutil.copy(ROOT / "CHECKLIST.md", root)
    shutil.copytree(ROOT / "environments", root / "environments")
    (root / "deployments").mkdir()
    return root


def run_local(root: Path, only: str | None = None) -> tuple[float, dict[str, float]]:
    from sphinxctl.checks import CheckRequest, run_checklist
    from sphinxctl.checks.context import CheckContext
    from sphinxctl.checks.registry import registry
    from sphinxctl.checks.runner import run_checks
    from sphinxctl.settings import load_settings

    loaded = load_settings("local", root / "environments", strict=False)
    start = time.perf_counter()
    if only is None:
        report = run_checklist(CheckRequest(env="local", project_root=root), loaded)
        durations = {r.id: r.duration_seconds for r in report.results if r.kind == "automated"}
    else:
        ctx = CheckContext(env="local", project_root=root, loaded=loaded, io_timeout=7.0)
        results = run_checks(ctx, [registry()[only]])
        durations = {r.id: r.duration_seconds for r in results}
    return time.perf_counter() - start, durations


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    procs = []
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        try:
            for name, chain_id in CHAINS.items():
                proc, port = start_anvil(chain_id)
                procs.append(proc)
                os.environ[f"SPHINXCTL_CHAINS__{name}__RPC_URLS"] = f'["http://127.0.0.1:{port}"]'
            os.environ["SPHINXCTL_REDIS__URL"] = f"redis://127.0.0.1:{free_port()}/0"
            root = project(Path(tmp))
            run_local(root)  # warm imports and caches
            totals, slowest, alone = [], [], []
            for _ in range(runs):
                total, durations = run_local(root)
                slow_id = max(durations, key=lambda i: durations[i])
                totals.append(total)
                slowest.append(durations[slow_id])
                alone.append(run_local(root, only=slow_id)[1][slow_id])
            t, s, a = (statistics.median(x) for x in (totals, slowest, alone))
            print(f"automated items per run      {len(durations)} (env local, 3 anvil nodes)")
            print(f"total wall, concurrent       median {t:6.2f} s over {runs} runs")
            print(f"slowest check in that run    median {s:6.2f} s ({slow_id})")
            print(f"slowest check run alone      median {a:6.2f} s")
            print(f"sum of all check durations   {sum(durations.values()):6.2f} s (serial cost)")
            ratios = [x / y for x, y in zip(totals, slowest, strict=True)]
            print(
                f"ratio total / slowest, same run  {statistics.median(ratios):6.2f}x  "
                "(goal <= 1.20x)"
            )
            print(f"ratio total / slowest run alone  {t / a:6.2f}x  (CPU contention included)")
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()

    server = HangingServer()
    port = server.port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPHINXCTL_", "SPHINX_"))}
    for name in CHAINS:
        env[f"SPHINXCTL_CHAINS__{name}__RPC_URLS"] = f'["http://127.0.0.1:{port}"]'
    env["SPHINXCTL_REDIS__URL"] = f"redis://127.0.0.1:{port}/0"
    start = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("sphinxctl")), "check", "mainnet", "-o", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    server.close()
    print(f"check mainnet, hanging RPCs  {wall:6.2f} s, exit {result.returncode} (limit 30 s)")


if __name__ == "__main__":
    main()
