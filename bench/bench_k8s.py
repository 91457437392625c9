"""The test control plane and `infra up` against it, same run.

Prints how long each part of the private control plane takes to start (etcd, kube-apiserver,
controller-manager/scheduler/kwok to three Ready nodes), then the median time of a first
`infra up` (everything created, in a fresh namespace each round) against a second one
(nothing changed: dry runs only, no write) and their ratio. Goal: second/first <= 0.8.

Run: .venv/bin/python bench/bench_k8s.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sphinxctl.infra.apply import up  # noqa: E402
from tests.support.infra_env import settings_for, stack_for  # noqa: E402
from tests.support.k8s_control_plane import ControlPlane  # noqa: E402


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
        began = time.perf_counter()
        with ControlPlane(Path(tmp)) as plane:
            started = time.perf_counter() - began
            for part, seconds in plane.timings.items():
                print(f"control plane  {part:<16} ready after {seconds:6.2f} s")
            print(f"control plane  start()           total {started:6.2f} s")
            kubeconfig = plane.kubeconfig(Path(tmp) / "kubeconfig")
            first, second = [], []
            for index in range(rounds):
                settings = settings_for("mainnet")
                settings.kubernetes.namespace = f"bench-{index}"
                with stack_for(settings, kubeconfig) as ctx:
                    t0 = time.perf_counter()
                    created = up(ctx)
                    t1 = time.perf_counter()
                    again = up(ctx)
                    t2 = time.perf_counter()
                assert not again.changed and created.changed
                first.append(t1 - t0)
                second.append(t2 - t1)
    f, s = statistics.median(first), statistics.median(second)
    print(f"infra up       first (creates)   median {f * 1000:7.0f} ms over {rounds} rounds")
    print(f"infra up       second (no write) median {s * 1000:7.0f} ms")
    print(f"ratio second/first: {s / f:.2f} (goal <= 0.8)")


if __name__ == "__main__":
    main()
