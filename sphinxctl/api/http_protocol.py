"""uvicorn's httptools protocol, answering unparsable requests with the API's JSON error body.

uvicorn answers a request it cannot parse (bad request line, header syntax, chunk framing)
itself, before any ASGI app runs, with a plain-text 400. This subclass sends the same status
with `{"error": "bad-request", ...}` and the API's no-sniff/no-store headers. Imported only by
uvicorn when the server starts (`http=HTTP_PROTOCOL`), never at CLI import time.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_BODY = json.dumps(
    {
        "error": "bad-request",
        "message": "the request is not valid HTTP/1.1",
        "hint": "check the request line, header syntax and body framing",
        "request_id": None,
    }
).encode()
_RESPONSE = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"cache-control: no-store\r\n"
    b"connection: close\r\n\r\n" + _BODY
)


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose own 400 answers carry the API's JSON error body."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_RESPONSE)
        self.transport.close()
