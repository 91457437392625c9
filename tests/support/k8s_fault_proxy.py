"""A TLS proxy in front of the real test API server that misbehaves on request (fault
injection only: every answer it does not fake comes from the real kube-apiserver).

It serves HTTPS with the control plane's serving certificate, forwards each request with the
admin client certificate, and records what it saw. `inject(...)` arms a fault for matching
requests: an HTTP status with a Kubernetes Status body (5xx, 409 storms, 403...) or `drop`
(the connection closes without an answer).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.k8s_control_plane import ControlPlane

_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})


@dataclass
class Fault:
    status: int | str  # an HTTP status, or "drop"
    method: str | None
    path_contains: str | None
    times: int
    message: str | None = None
    retry_after: float | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.hits < self.times
            and (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in path)
        )


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: str


class FaultProxy:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        upstream = plane.ssl_context()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    url.path,
                    dict(parse_qsl(url.query)),
                    self.headers.get("Content-Type", ""),
                    body.decode("utf-8", "replace"),
                )
                fault = proxy._take(self.command, url.path)
                with proxy._lock:
                    proxy.requests.append(seen)
                if fault is not None:
                    self._fake(fault)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                answer, data = self._forward(body, headers)
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _forward(
                self, body: bytes, headers: dict[str, str]
            ) -> tuple[http.client.HTTPResponse, bytes]:
                """One upstream connection per client connection (no TLS handshake per
                request); a stale one is replaced once."""
                for attempt in (1, 2):
                    conn = getattr(self, "_upstream", None)
                    if conn is None:
                        conn = http.client.HTTPSConnection(
                            "127.0.0.1", plane.port, context=upstream, timeout=30
                        )
                        self._upstream: http.client.HTTPSConnection | None = conn
                    try:
                        conn.request(self.command, self.path, body=body or None, headers=headers)
                        answer = conn.getresponse()
                        return answer, answer.read()
                    except (ConnectionError, http.client.HTTPException):
                        conn.close()
                        self._upstream = None
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

            def finish(self) -> None:
                conn = getattr(self, "_upstream", None)
                if conn is not None:
                    conn.close()
                super().finish()

            def _fake(self, fault: Fault) -> None:
                if fault.status == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status = int(fault.status)
                reason = http.client.responses.get(status, "Error").replace(" ", "")
                payload = json.dumps(
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "message": fault.message or f"injected {status}",
                        "reason": reason,
                        "code": status,
                    }
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if fault.retry_after is not None:
                    self.send_header("Retry-After", f"{fault.retry_after:g}")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(plane.serving.cert), str(plane.serving.key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self.server = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def inject(
        self,
        status: int | str,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> Fault:
        fault = Fault(status, method, path_contains, times, message, retry_after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def writes(self) -> list[Seen]:
        """Requests that would change something (dry runs and reads excluded)."""
        return [
            r
            for r in self.requests
            if r.method in ("POST", "PUT", "PATCH", "DELETE") and r.query.get("dryRun") != "All"
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
