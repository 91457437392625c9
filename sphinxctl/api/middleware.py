"""ASGI middleware of the API server (pure ASGI: no per-request task or body buffering).

`RequestContextMiddleware` (outermost) gives every request an id, times it, adds security
headers, records Prometheus metrics by route template (never raw paths), writes the JSON
access line, and turns any unhandled exception into a JSON 500. `BodyLimitMiddleware`
refuses bodies above the configured size with 413, whether declared or streamed.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException
from starlette.middleware.cors import CORSMiddleware

from sphinxctl import metrics
from sphinxctl.api.errors import problem_body
from sphinxctl.api.logs import ACCESS_LOGGER, ERROR_LOGGER, access_line, redact_query, scrub

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED_ROUTE = "<unmatched>"
MAX_CACHED_SERIES = 2048
CONVERTOR = re.compile(r"\{(\w+):\w+\}")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_FRAMEWORK_PATHS = _DOCS_PATHS | {"/openapi.json"}
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    b"https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
_SECURITY_NAMES = frozenset(name for name, _ in _SECURITY_HEADERS)


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/nfts/{chain}/{token_id}`), never the raw path.

    Path convertors are left out (`{token_id:int}` -> `{token_id}`), as OpenAPI writes them.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        # FastAPI's own pages (/docs, /openapi.json) are fixed paths outside the router.
        raw = scope.get("path")
        return raw if raw in _FRAMEWORK_PATHS else UNMATCHED_ROUTE
    if ":" not in path:
        return path
    template = _TEMPLATES.get(path)
    if template is None:  # one per route: bounded by the app's routes
        template = _TEMPLATES[path] = CONVERTOR.sub(r"{\1}", path)
    return template


_TEMPLATES: dict[str, str] = {}


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state")
    if isinstance(state, MutableMapping):
        value = state.get("request_id")
        return value if isinstance(value, str) else None
    return None


async def send_json(send: Send, status: int, body: dict[str, Any], headers: Any = ()) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Request id, timing, security headers, metrics, access log, last-resort JSON 500."""

    def __init__(self, app: ASGIApp, *, on_exception: Callable[[BaseException], None]) -> None:
        self.app = app
        self.on_exception = on_exception
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id, credentials, authorization, agent = _scan_headers(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["authorization"] = authorization  # dependencies.AUTHORIZATION: not read again
        path = scope.get("path", "")

        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                elapsed_ms = (time.perf_counter() - start) * 1000
                headers.append((b"server-timing", f"app;dur={elapsed_ms:.2f}".encode()))
                if names.isdisjoint(_SECURITY_NAMES):
                    headers.extend(_SECURITY_HEADERS)
                else:
                    headers.extend(h for h in _SECURITY_HEADERS if h[0] not in names)
                if b"content-security-policy" not in names:
                    csp = _DOCS_CSP if path in _DOCS_PATHS else _API_CSP
                    headers.append((b"content-security-policy", csp))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            if credentials > 1:
                await _refuse_repeated_credentials(send_wrapper, request_id)
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            status = 500
            metrics.ERRORS.labels(component="api", kind="unhandled_exception").inc()
            self.on_exception(exc)
            logging.getLogger(ERROR_LOGGER).error(
                "unhandled exception",
                exc_info=exc,
                extra={"fields": {"request_id": request_id, "route": route_template(scope)}},
            )
            if not started:
                body = problem_body(
                    "internal-error",
                    "the server failed to handle the request",
                    request_id,
                    hint="retry later; report the request id if it persists",
                )
                await send_json(send_wrapper, 500, body)
        finally:
            self._record(scope, state, status, time.perf_counter() - start, request_id, agent)

    def _record(
        self,
        scope: Scope,
        state: Any,
        status: int,
        seconds: float,
        request_id: str,
        agent: str | None,
    ) -> None:
        route = route_template(scope)
        method = scope.get("method", "")
        series = self._series.get((route, method, status))
        if series is None:  # labels() takes a lock and builds a key: once per combination
            series = (
                metrics.REQUESTS.labels(route=route, method=method, status=str(status)),
                metrics.API_LATENCY.labels(route=route, method=method),
            )
            if len(self._series) < MAX_CACHED_SERIES:
                self._series[(route, method, status)] = series
        series[0].inc()
        series[1].observe(seconds)
        if status >= 500:
            metrics.ERRORS.labels(component="api", kind=f"http_{status}").inc()
        if not self.logger.isEnabledFor(logging.INFO):
            return
        principal = state.get("principal") if isinstance(state, MutableMapping) else None
        client = scope.get("client")
        query = scope.get("query_string", b"")
        sub = getattr(principal, "sub", None)
        role = getattr(principal, "role", None)
        access_line(
            {
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": scrub(scope.get("path", "")),
                "query": redact_query(query.decode("latin-1")) if query else "",
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "client": client[0] if client else None,
                "sub": scrub(sub) if sub is not None else None,
                "role": getattr(role, "value", role),
                "user_agent": scrub(agent) if agent is not None else None,
            }
        )


class OriginAwareCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, which for a request without an Origin header (no
    browser's cross-origin call: most API traffic) only adds `Vary: Origin`; that case is
    done here without building its header views per request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(k.lower() == b"origin" for k, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def send_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _add_vary_origin(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_vary)


def _add_vary_origin(headers: Any) -> list[tuple[bytes, bytes]]:
    """The headers with `Origin` appended to Vary, as CORSMiddleware.send writes it."""
    vary = [value for key, value in headers if key.lower() == b"vary"]
    rest = [(key, value) for key, value in headers if key.lower() != b"vary"]
    rest.append((b"vary", b", ".join([*vary, b"Origin"])))
    return rest


class BodyTooLarge(HTTPException):
    """Raised inside the app when a streamed body exceeds the limit (an HTTP 413, so the
    framework's body parsing passes it through to the JSON error handler)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class BodyLimitMiddleware:
    """413 for bodies above `max_bytes` (by Content-Length, or counted while streaming)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if declared is None and not chunked:  # neither length nor chunks: HTTP/1.1, no body
            await self.app(scope, receive, send)
            return
        if declared is not None and (
            not declared.isdigit() or len(declared) > 18 or int(declared) > self.max_bytes
        ):
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = problem_body(
            "body-too-large",
            f"request body exceeds the limit of {self.max_bytes} bytes",
            request_id_of(scope),
        )
        await send_json(send, 413, body, [(b"connection", b"close")])


async def _refuse_repeated_credentials(send: Send, request_id: str) -> None:
    """400: proxies may disagree about which of several Authorization headers counts."""
    body = problem_body(
        "duplicate-authorization",
        "the request carries more than one Authorization header",
        request_id,
        hint="send exactly one `Authorization: Bearer <token>` header",
    )
    await send_json(send, 400, body)


def _scan_headers(scope: Scope) -> tuple[str, int, str | None, str | None]:
    """(request id: the client's when well-formed, else a new one; Authorization count; the
    Authorization header's value; the User-Agent), in one pass over the headers."""
    request_id = None
    authorizations = 0
    authorization = agent = None
    for key, value in scope.get("headers", ()):
        key = key.lower()
        if key == b"authorization":
            authorizations += 1
            authorization = value.decode("latin-1")
        elif key == b"user-agent" and agent is None:
            agent = value.decode("latin-1")
        elif key == b"x-request-id" and request_id is None:
            text = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                request_id = text
    return request_id or _new_request_id(), authorizations, authorization, agent


class _RequestIds:
    """New request ids: 32 hex digits, a random per-process prefix and a counter (unique
    without a urandom call per request; ids identify requests, they are not secrets)."""

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._count = itertools.count()

    def __call__(self) -> str:
        pid = os.getpid()
        if pid != self._pid:  # a forked worker must not repeat its parent's ids
            self._pid, self._prefix = pid, uuid.uuid4().hex[:16]
        return f"{self._prefix}{next(self._count):016x}"


_new_request_id = _RequestIds()


def _framing(scope: Scope) -> tuple[str | None, bool]:
    """(the first Content-Length header's value, whether Transfer-Encoding is present)."""
    declared = None
    chunked = False
    for key, value in scope.get("headers", ()):
        key = key.lower()
        if key == b"content-length" and declared is None:
            declared = value.decode("latin-1")
        elif key == b"transfer-encoding":
            chunked = True
    return declared, chunked


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
