"""Fault injection for crash tests: `SPHINXCTL_TEST_CRASH_AT=<point>:<n>` (read by the CLI's
hidden `--crash-at` option) kills the process with SIGKILL the n-th time it reaches <point>.

Points, in the order a transaction passes them:
  signed      a transaction is signed, nothing recorded yet
  journaled   the write-ahead record is on disk, nothing broadcast
  broadcast   the node accepted the transaction, no receipt yet
  mined       the receipt arrived, the journal does not know yet
  recorded    the receipt is journaled (between two transactions / contracts)
  replaced    a fee-bumped replacement is journaled, not broadcast
  chain-done  one chain finished (between chains)
  checked     a handover gate passed (between Safe creation and role grants)
"""

from __future__ import annotations

import os
import signal
import threading

from sphinxctl.errors import UsageError

POINTS = (
    "signed",
    "journaled",
    "broadcast",
    "mined",
    "recorded",
    "replaced",
    "chain-done",
    "checked",
)


class Faults:
    """Counts checkpoints; kills the process at the configured one."""

    def __init__(self, spec: str | None = None) -> None:
        self.point: str | None = None
        self.count = 0
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        if spec:
            point, _, count = spec.partition(":")
            if point not in POINTS or (count and not count.isdigit()):
                raise UsageError(
                    f"bad crash point {spec!r}",
                    hint=f"use <point>[:<n>] with a point among {', '.join(POINTS)}",
                )
            self.point = point
            self.count = int(count or 1)

    def hit(self, point: str) -> None:
        if self.point is None:
            return
        with self._lock:
            self._seen[point] = self._seen.get(point, 0) + 1
            if point == self.point and self._seen[point] == self.count:
                os.kill(os.getpid(), signal.SIGKILL)


NO_FAULTS = Faults()
