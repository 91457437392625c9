"""A private Redis server for tests: Debian's redis-server on a free 127.0.0.1 port, in a temp
dir, with persistence off (`--save '' --appendonly no`); it can be SIGKILLed and restarted on
the same port (what a Redis outage looks like to clients).

Usage (plain Python)::

    from tests.support.redis_server import RedisServer

    with RedisServer() as server:           # starts, waits for PING (well under a second)
        server.url                          # 'redis://127.0.0.1:<port>/0'
        server.command("SET", "k", "v")     # one command over a raw socket (no redis-py needed)
        server.kill()                       # SIGKILL: clients see connection errors
        server.freeze(); server.thaw()      # SIGSTOP / SIGCONT: a hung server (timeouts)
        server.start()                      # same port again, empty data (nothing persisted)
    # leaving the block stops the server and removes its directory

Usage (pytest): wrap `shared_redis()` in a fixture of the test module (no fixture import, so
ruff's F811 stays quiet), or import the ready-made fixtures below::

    from tests.support.redis_server import RedisServer, shared_redis

    @pytest.fixture
    def redis() -> RedisServer:
        server = shared_redis()     # one server for the whole run, started on first use
        server.flushall()
        return server

    # or: from tests.support.redis_server import redis_server, redis_url  # noqa: F401, F811

`shared_redis()` returns the process-wide RedisServer (destroyed at exit). Fixtures:
`redis_server` (session) is that server; `redis_url` (function) is its URL after FLUSHALL;
`private_redis` (function) is a RedisServer of the test's own, for tests that kill, freeze or
restart it. Never kill or freeze the shared server: other tests use it.

The binary is /usr/bin/redis-server (or $SPHINX_REDIS_SERVER); scripts/setup.sh installs it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.support.ports import free_port
from tests.support.real_parts import real_part, require_integration

HOST = "127.0.0.1"


def redis_binary() -> str:
    found = os.environ.get("SPHINX_REDIS_SERVER") or shutil.which("redis-server")
    if not found:
        found = "/usr/bin/redis-server"
    if not Path(found).exists():
        raise RuntimeError("redis-server is not installed (run scripts/setup.sh)")
    return found


class RedisServer:
    """One redis-server process. `port` is kept across kill()/stop() and start()."""

    def __init__(self, port: int | None = None, *, base_dir: Path | None = None) -> None:
        self._fixed_port = port is not None
        self.port = port or free_port()
        self._own_dir = base_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="sphinx-redis-")) if base_dir is None else base_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (or restart after kill/stop) and wait until it answers PING."""
        require_integration("redis")
        if self.running:
            return self
        for attempt in range(5):
            self._spawn()
            if self._wait_ready(timeout):
                return self
            self._reap()
            if self._fixed_port or attempt == 4:
                break
            self.port = free_port()  # someone took the port between bind and start
        log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log}")

    def _spawn(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_binary(),
                "--port", str(self.port),
                "--bind", HOST,
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.dir),
                "--logfile", str(self.dir / "redis.log"),
                "--daemonize", "no",
                "--databases", "4",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                if self.command("PING") == "PONG":
                    return True
            except OSError:
                pass
            time.sleep(0.01)
        return False

    def kill(self) -> None:
        """SIGKILL (no shutdown, no goodbye to clients; frozen or not) and wait until gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self._reap()

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its connections but answers nothing (a hung Redis)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after freeze(): the server answers again (queued commands included)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL after 5 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.send_signal(signal.SIGCONT)  # a frozen server must run to exit
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reap()

    def restart(self) -> RedisServer:
        self.kill()
        return self.start()

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=10)
            self.process = None

    def destroy(self) -> None:
        """Stop and remove the temp dir."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *args: str | int | bytes, timeout: float = 5.0) -> Any:
        """Send one command (RESP) on a fresh connection; simple parsed reply."""
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            sock.sendall(payload)
            reader = sock.makefile("rb")
            return _read_reply(reader)

    def flushall(self) -> None:
        self.command("FLUSHALL")

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()


def _read_reply(reader: object) -> Any:
    line: bytes = reader.readline()  # type: ignore[attr-defined]
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data: bytes = reader.read(size + 2)  # type: ignore[attr-defined]
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(reader) for _ in range(count)]
    raise RuntimeError(f"unexpected reply {line!r}")


# --- the shared server -------------------------------------------------------------------
_shared: RedisServer | None = None
_lock = threading.Lock()


def shared_redis() -> RedisServer:
    """The process-wide shared server (started on first use, destroyed at exit)."""
    global _shared
    require_integration("redis")
    with _lock:
        if _shared is None:
            _shared = RedisServer().start()
            atexit.register(_shared.destroy)
        elif not _shared.running:
            _shared.start()
        return _shared


@pytest.fixture(scope="session")
@real_part("redis")
def redis_server() -> RedisServer:
    return shared_redis()


@pytest.fixture
@real_part("redis")
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
@real_part("redis")
def private_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server
