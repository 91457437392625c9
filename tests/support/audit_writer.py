"""A separate OS process appending audit events, for the concurrent-writers test.

    python -m tests.support.audit_writer URL COUNT GO_FILE NAME

Connects, writes GO_FILE.NAME.ready, waits until GO_FILE exists (so several writers start
together), appends COUNT events as actor NAME with a little random jitter between them (so the
writers interleave), and exits 0.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from sphinxctl.store import Store


def main(url: str, count: int, go_file: Path, name: str) -> None:
    with Store.from_url(url, pool_size=2, pool_timeout_seconds=30) as store:
        store.ping()  # connect before the start signal
        go_file.with_name(f"{go_file.name}.{name}.ready").touch()
        deadline = time.monotonic() + 60
        while not go_file.exists():
            if time.monotonic() > deadline:
                raise SystemExit("start signal never came")
            time.sleep(0.005)
        for i in range(count):
            store.append_audit(name, "operator", "mint", "ethereum/SpaceFlightNFT", {"i": i})
            time.sleep(random.uniform(0, 0.004))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
