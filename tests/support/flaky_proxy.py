"""An HTTP proxy in front of a JSON-RPC node that misbehaves on purpose.

Per request, with probability `rate` (seeded, reproducible), one fault:
  drop-before   close the connection without forwarding the request
  drop-after    forward it (the node acts on it), then close without an answer
  delay         forward it, then answer only after `delay` seconds (past the client timeout)
  5xx           answer 502 without forwarding
  5xx-after     forward it, then answer 500
The *-after faults are the nasty ones: a broadcast reached the node but the client never heard.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from collections import Counter

FAULTS = ("drop-before", "drop-after", "delay", "5xx", "5xx-after")


class FlakyProxy:
    def __init__(
        self, upstream_port: int, *, rate: float = 0.3, delay: float = 2.0, seed: int = 0
    ) -> None:
        self.upstream_port = upstream_port
        self.rate = rate
        self.delay = delay
        self.enabled = True
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = int(self._server.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed = True
        self._server.close()

    def _choose(self) -> str | None:
        with self._lock:
            self.requests += 1
            if not self.enabled or self._random.random() >= self.rate:
                return None
            fault = self._random.choice(FAULTS)
            self.injected[fault] += 1
            return fault

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes] | None:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return rest[:length], rest[length:]

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            upstream.request("POST", "/", body, {"Content-Type": "application/json"})
            response = upstream.getresponse()
            return response.status, response.read()
        finally:
            upstream.close()

    @staticmethod
    def _answer(conn: socket.socket, status: int, body: bytes) -> None:
        reason = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "X")
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        )
        conn.sendall(head.encode() + body)

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                request = self._read_request(conn, buffer)
                if request is None:
                    return
                body, buffer = request
                fault = self._choose()
                if fault == "drop-before":
                    return
                if fault == "5xx":
                    self._answer(conn, 502, b"bad gateway")
                    continue
                status, answer = self._forward(body)
                if fault == "drop-after":
                    return
                if fault == "5xx-after":
                    self._answer(conn, 500, b"internal error")
                    continue
                if fault == "delay":
                    time.sleep(self.delay)
                self._answer(conn, status, answer)
        except OSError:
            return
        finally:
            conn.close()
