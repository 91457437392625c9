"""Parallel deployment: the full local plan on three chains at once vs on one chain, same run.

Three anvil nodes mining a block every BLOCK_TIME seconds (interval mining, like a public
network: a transaction waits for its block) rather than automine (which would only measure CPU
throughput on this 2-core machine, where three chains' work cannot overlap). Each sample deploys
the whole plan (five transactions per chain, bytecode verification included) from a fresh chain
state (evm_snapshot/evm_revert) and a fresh journal.

Goal: three chains in parallel within 1.3x of one chain's wall time.
Run: .venv/bin/python bench/bench_deploy.py [runs]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK_TIME = "0.5"
sys.path.insert(0, str(ROOT))

from sphinxctl.deploy.deployment import DeployRequest, deploy_contracts  # noqa: E402
from sphinxctl.settings import load_settings  # noqa: E402
from tests.support.deploy_env import CHAIN_IDS, Anvil, compiled_template, make_project  # noqa: E402


def deploy_once(workdir: Path, template: Path, nodes: dict[str, Anvil], chains: list[str]) -> float:
    """Wall time of one full deployment of `chains`, from fresh chains and a fresh journal."""
    snapshots = {name: nodes[name].snapshot() for name in chains}
    project = make_project(
        Path(tempfile.mkdtemp(dir=workdir)) / "p", template, {n: nodes[n].url for n in chains}
    )
    settings = load_settings("local", project / "environments").settings
    start = time.perf_counter()
    result = deploy_contracts(settings, DeployRequest(project_root=project), confirm=lambda _: True)
    elapsed = time.perf_counter() - start
    assert result.sent == 5 * len(chains), result.sent
    for name in chains:
        nodes[name].revert(snapshots[name])
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    workdir = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    nodes = {
        name: Anvil(chain_id, "--block-time", BLOCK_TIME) for name, chain_id in CHAIN_IDS.items()
    }
    try:
        template = compiled_template(workdir / "template")
        deploy_once(workdir, template, nodes, ["ethereum"])  # warm imports and caches
        single, parallel = [], []
        for _ in range(runs):  # interleaved, so drift on a shared machine hits both alike
            single.append(deploy_once(workdir, template, nodes, ["ethereum"]))
            parallel.append(deploy_once(workdir, template, nodes, list(CHAIN_IDS)))
    finally:
        for node in nodes.values():
            node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    one, three = statistics.median(single), statistics.median(parallel)
    print(f"block time {BLOCK_TIME} s on every chain")
    print(f"one chain    (5 txs)            median {one * 1000:7.1f} ms over {runs} runs")
    print(f"three chains (15 txs, parallel) median {three * 1000:7.1f} ms over {runs} runs")
    ratio = three / one
    print(f"ratio three/one: {ratio:.2f}x (goal <= 1.3x) -> {'OK' if ratio <= 1.3 else 'MISSED'}")


if __name__ == "__main__":
    main()
