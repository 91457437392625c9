"""The one anvil launcher of the tests: a private node on a loopback port, its log in a temp dir.

anvil binds the port itself (`--port 0`, read back from its "Listening on" line), so parallel
test workers never race for a port. Every test that starts one must be marked `integration`
(tests/support/real_parts.py refuses otherwise).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.real_parts import require_integration

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


class Anvil:
    """One anvil process (automine unless `extra` says otherwise; 10 dev accounts of 10,000 ETH
    from the public test mnemonic). `port=None` lets anvil pick a free one."""

    def __init__(self, chain_id: int = 31337, *extra: str, port: int | None = None) -> None:
        require_integration("anvil")
        self.chain_id = chain_id
        self._log_dir = tempfile.TemporaryDirectory(prefix="anvil-")
        self.log = Path(self._log_dir.name) / "anvil.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [str(ANVIL), "--host", "127.0.0.1", "--port", str(port or 0),
                 "--chain-id", str(chain_id), *extra],
                stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self.port = self._wait_for_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"Listening on \S+:(\d+)", self.log.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        tail = self.log.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"anvil did not start: {tail}")

    def call(self, method: str, *params: Any) -> Any:
        return rpc(self.url, method, list(params))

    def nonce(self, address: str) -> int:
        return int(self.call("eth_getTransactionCount", address, "latest"), 16)

    def code(self, address: str) -> str:
        return str(self.call("eth_getCode", address, "latest"))

    def snapshot(self) -> str:
        return str(self.call("evm_snapshot"))

    def revert(self, snapshot: str) -> None:
        assert self.call("evm_revert", snapshot) is True

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_dir.cleanup()
