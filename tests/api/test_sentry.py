"""With api.sentry_dsn set, unhandled exceptions reach Sentry (a local capture server standing
in for it), scrubbed of headers, tokens and secret-shaped values; without it, nothing is sent."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.support.api_env import auth, memory_app, tokens_for

pytestmark = pytest.mark.integration


class _Capture(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        self.bodies.append(raw)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, list[bytes]]]:
    _Capture.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", _Capture.bodies
    finally:
        import sentry_sdk

        sentry_sdk.init()  # back to a disabled client
        server.shutdown()


def test_unhandled_exceptions_reach_sentry_scrubbed(
    offline_project: tuple[Path, Any], sentry_server: tuple[str, list[bytes]]
) -> None:
    import sentry_sdk

    dsn, bodies = sentry_server
    root, settings = offline_project
    settings.api.sentry_dsn = SecretStr(dsn)
    token = tokens_for(settings, root)["admin"]
    app = memory_app(root, settings)
    secret = "0x" + "cd" * 32

    def explode() -> None:
        raise RuntimeError(f"exploded while holding {secret}")

    app.add_api_route("/explode", explode)
    with TestClient(app) as client:
        response = client.get("/explode?token=" + token, headers=auth(token))
        assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    assert bodies, "no event reached the Sentry endpoint"
    event = b"".join(bodies).decode("utf-8", "replace")
    assert "RuntimeError" in event
    assert token not in event
    assert token.split(".")[1] not in event
    assert secret not in event
    assert "authorization" not in event.lower()
    assert '"vars"' not in event  # no local variables of stack frames


def test_without_a_dsn_nothing_is_sent(
    offline_project: tuple[Path, Any], sentry_server: tuple[str, list[bytes]]
) -> None:
    import sentry_sdk

    _dsn, bodies = sentry_server
    root, settings = offline_project
    app = memory_app(root, settings)

    def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/explode", explode)
    with TestClient(app) as client:
        assert client.get("/explode").status_code == 500
    sentry_sdk.flush(timeout=2)
    assert bodies == []
