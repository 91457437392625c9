"""The local devnet: one anvil node per configured chain that has a `devnet_port`.

State (`<chain>.json`, dumped by anvil on shutdown and every few seconds), logs (`<chain>.log`)
and pids (`<chain>.pid`) live under `settings.devnet.state_dir` (relative to the project root).
`up` is idempotent (running nodes are left alone) and places Multicall3's runtime code at its
canonical address on every node (anvil_setCode; compiled here from contracts/local/); `down`
stops nodes with SIGTERM so anvil writes its state, then SIGKILL after a grace period. A node
already answering on its port with the right chain id (started by someone else) counts as
running but is never stopped by us.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sphinxctl.errors import ChainError, ConfigError
from sphinxctl.settings import ChainSettings, Settings
from sphinxctl.settings.paths import project_path

ANVIL_RELATIVE = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
STATE_INTERVAL_SECONDS = 5
STOP_GRACE_SECONDS = 10.0
# Where Multicall3 lives on Ethereum, Polygon, Arbitrum and most other chains; the devnet
# carries our own aggregate3-compatible build (contracts/local/Multicall3.sol) at the same place.
MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"

Notify = Callable[[str], None]


class NodeStatus(BaseModel):
    """One devnet node as found on disk and on its port."""

    chain: str
    chain_id: int
    port: int
    url: str
    running: bool
    managed: bool = False
    pid: int | None = None
    answered_chain_id: int | None = None
    block_number: int | None = None
    state_file: str
    log_file: str
    note: str | None = None


class DevnetStatus(BaseModel):
    state_dir: str
    nodes: list[NodeStatus]

    @property
    def all_running(self) -> bool:
        return all(node.running for node in self.nodes)


def anvil_path(project_root: Path) -> Path:
    """The pinned anvil binary from the project's node_modules."""
    path = project_root / ANVIL_RELATIVE
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ConfigError(
            f"anvil is not installed: {path} is missing",
            hint="run `bash scripts/setup.sh` (npm ci installs @foundry-rs/anvil)",
            reference="anvil-missing",
        )
    return path


def devnet_chains(settings: Settings) -> list[ChainSettings]:
    chains = [chain for chain in settings.chains.values() if chain.devnet_port is not None]
    if not chains:
        raise ConfigError(
            f"environment {settings.environment!r} has no devnet: no chain sets devnet_port",
            hint="the devnet belongs to `-e local`",
            reference="devnet-not-configured",
        )
    return chains


def state_dir(settings: Settings, project_root: Path) -> Path:
    return project_path(project_root, settings.devnet.state_dir)


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _probe(port: int, timeout: float = 0.5) -> tuple[int | None, int | None]:
    """(chain id, block number) answered on the port, or (None, None)."""
    import requests

    def call(method: str) -> int | None:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
        response = requests.post(_url(port), json=body, timeout=timeout)
        result = response.json().get("result")
        return int(result, 16) if isinstance(result, str) else None

    try:
        return call("eth_chainId"), call("eth_blockNumber")
    except (requests.RequestException, ValueError):
        return None, None


def _port_busy(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(json.loads(pid_file.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive_anvil(pid: int, port: int) -> bool:
    """True when `pid` is a live (not zombie) anvil serving `port` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return bool(cmdline) and cmdline[0].endswith(b"anvil") and str(port).encode() in cmdline


def _node_status(chain: ChainSettings, directory: Path) -> NodeStatus:
    assert chain.devnet_port is not None
    port = chain.devnet_port
    pid_file = directory / f"{chain.name}.pid"
    pid = _read_pid(pid_file)
    managed = pid is not None and _alive_anvil(pid, port)
    answered, block = _probe(port)
    running = answered == chain.chain_id
    note = None
    if answered is not None and answered != chain.chain_id:
        note = f"port {port} answers chain id {answered}, expected {chain.chain_id}"
    elif managed and not running:
        note = "process alive but not answering (starting?)"
    elif running and not managed:
        note = "served by a process sphinxctl did not start"
    return NodeStatus(
        chain=chain.name,
        chain_id=chain.chain_id,
        port=port,
        url=_url(port),
        running=running,
        managed=managed,
        pid=pid if managed else None,
        answered_chain_id=answered,
        block_number=block,
        state_file=str(directory / f"{chain.name}.json"),
        log_file=str(directory / f"{chain.name}.log"),
        note=note,
    )


def devnet_status(settings: Settings, project_root: Path) -> DevnetStatus:
    directory = state_dir(settings, project_root)
    chains = devnet_chains(settings)
    with ThreadPoolExecutor(max_workers=len(chains)) as pool:
        nodes = list(pool.map(lambda c: _node_status(c, directory), chains))
    return DevnetStatus(state_dir=str(directory), nodes=nodes)


def _start(
    anvil: Path, chain: ChainSettings, settings: Settings, directory: Path
) -> subprocess.Popen[bytes]:
    assert chain.devnet_port is not None
    command = [
        str(anvil),
        "--host", "127.0.0.1",
        "--port", str(chain.devnet_port),
        "--chain-id", str(chain.chain_id),
        "--accounts", str(settings.devnet.accounts),
        "--balance", str(settings.devnet.balance_ether),
        "--state", str(directory / f"{chain.name}.json"),
        "--state-interval", str(STATE_INTERVAL_SECONDS),
    ]  # fmt: skip
    if settings.devnet.block_time:
        command += ["--block-time", str(settings.devnet.block_time)]
    log = (directory / f"{chain.name}.log").open("ab")
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    finally:
        log.close()
    record = {
        "pid": process.pid,
        "port": chain.devnet_port,
        "chain_id": chain.chain_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (directory / f"{chain.name}.pid").write_text(json.dumps(record), encoding="utf-8")
    return process


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def devnet_up(
    settings: Settings, project_root: Path, *, notify: Notify | None = None, wait: float = 30.0
) -> DevnetStatus:
    """Start every devnet node that is not running, and wait until each answers its chain id."""
    say = notify or (lambda _message: None)
    directory = state_dir(settings, project_root)
    directory.mkdir(parents=True, exist_ok=True)
    anvil = anvil_path(project_root)
    started: dict[str, subprocess.Popen[bytes]] = {}
    for node in devnet_status(settings, project_root).nodes:
        chain = settings.chains[node.chain]
        if node.running:
            continue
        if node.managed:
            started[chain.name] = None  # type: ignore[assignment]  # still starting: just wait
            continue
        if node.answered_chain_id is not None or _port_busy(node.port):
            raise ChainError(
                f"devnet {chain.name}: port {node.port} is in use by another process"
                + (f" ({node.note})" if node.note else ""),
                hint="stop that process, or change chains."
                f"{chain.name}.devnet_port (and its rpc_urls) in environments/local.yaml",
                reference="devnet-port-busy",
            )
        say(f"starting anvil for {chain.name} (chain id {chain.chain_id}) on port {node.port}")
        started[chain.name] = _start(anvil, chain, settings, directory)
    deadline = time.monotonic() + wait
    pending = dict(started)
    while pending:
        for name, process in list(pending.items()):
            chain = settings.chains[name]
            assert chain.devnet_port is not None
            if _probe(chain.devnet_port, timeout=0.3)[0] == chain.chain_id:
                del pending[name]
                continue
            if process is not None and process.poll() is not None:
                raise ChainError(
                    f"devnet {name}: anvil exited with code {process.returncode} while starting: "
                    + _log_tail(directory / f"{name}.log"),
                    hint=f"see {directory / (name + '.log')}; a corrupt state file is cleared "
                    "by `sphinxctl devnet down --wipe`",
                    reference="devnet-start-failed",
                )
        if pending and time.monotonic() > deadline:
            raise ChainError(
                f"devnet: {', '.join(pending)} did not answer within {wait:.0f}s",
                hint=f"see the logs in {directory}",
                reference="devnet-start-timeout",
            )
        if pending:
            time.sleep(0.05)
    install_multicall(settings, project_root, notify=say)
    return devnet_status(settings, project_root)


def _rpc(port: int, method: str, *params: Any) -> Any:
    import requests

    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = requests.post(_url(port), json=body, timeout=10).json()
    if "error" in reply:
        raise ChainError(f"devnet port {port}: {method} failed: {reply['error']}")
    return reply.get("result")


def install_multicall(
    settings: Settings, project_root: Path, *, notify: Notify | None = None
) -> list[str]:
    """Put Multicall3 (aggregate3) at its canonical address on every devnet node that lacks it;
    returns the chains it was installed on. Its runtime code comes from the compiled artifacts
    (compiled on demand, cached in build/)."""
    from sphinxctl.solidity.compiler import compile_contracts

    runtime: str | None = None
    installed: list[str] = []
    for chain in devnet_chains(settings):
        assert chain.devnet_port is not None
        code = _rpc(chain.devnet_port, "eth_getCode", MULTICALL3_ADDRESS, "latest")
        if runtime is None:
            artifact = compile_contracts(project_root).artifacts.get("Multicall3")
            if artifact is None:
                raise ConfigError(
                    "contracts/local/Multicall3.sol is missing from the compiled contracts",
                    reference="multicall-missing",
                )
            runtime = "0x" + artifact.deployed_bytecode.removeprefix("0x")
        if str(code).lower() == runtime.lower():
            continue
        (notify or (lambda _m: None))(f"placing Multicall3 at {MULTICALL3_ADDRESS} on {chain.name}")
        _rpc(chain.devnet_port, "anvil_setCode", MULTICALL3_ADDRESS, runtime)
        installed.append(chain.name)
    return installed


def ensure_devnet(settings: Settings, project_root: Path, notify: Notify | None = None) -> bool:
    """Start the devnet when one of its nodes does not answer; True when something started."""
    status = devnet_status(settings, project_root)
    if status.all_running:
        return False
    devnet_up(settings, project_root, notify=notify)
    return True


def _stop(pid: int, port: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive_anvil(pid, port) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive_anvil(pid, port):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _alive_anvil(pid, port):
            time.sleep(0.05)
    _reap(pid, grace)


def _reap(pid: int, timeout: float) -> None:
    """Collect the exit status when the node is our own child (started in this process), so it
    does not linger as a zombie; a node started by another process is reaped by init."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done or time.monotonic() > deadline:
            return
        time.sleep(0.02)


def devnet_down(
    settings: Settings, project_root: Path, *, wipe: bool = False, notify: Notify | None = None
) -> DevnetStatus:
    """Stop the nodes this devnet started (state is saved on SIGTERM); `wipe` deletes state and
    logs too, so the next `up` starts fresh chains."""
    say = notify or (lambda _message: None)
    directory = state_dir(settings, project_root)
    for chain in devnet_chains(settings):
        assert chain.devnet_port is not None
        pid_file = directory / f"{chain.name}.pid"
        pid = _read_pid(pid_file)
        if pid is not None and _alive_anvil(pid, chain.devnet_port):
            say(f"stopping anvil for {chain.name} (pid {pid})")
            _stop(pid, chain.devnet_port, STOP_GRACE_SECONDS)
        pid_file.unlink(missing_ok=True)
        if wipe:
            for suffix in (".json", ".log"):
                (directory / f"{chain.name}{suffix}").unlink(missing_ok=True)
    return devnet_status(settings, project_root)
