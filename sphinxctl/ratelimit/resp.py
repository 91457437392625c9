"""A pipelining Redis connection on an asyncio Protocol: what the rate limiter's one command
per request needs, and no more.

Commands written while the event loop runs one batch of ready tasks leave in ONE socket
write (flushed by `call_soon` at the end of the batch) and their replies are parsed from
whatever one read returns, in order. Each request still waits for exactly one round trip
for its own command; under concurrency the syscalls (and Redis's) are shared instead of one
write and one read per request.

Replies: RESP2 simple strings, errors, integers, bulk strings and arrays. A `-NOSCRIPT`
error becomes redis-py's `NoScriptError`, other errors its `ResponseError`. A connection
that closes fails every command waiting on it with redis-py's `ConnectionError`.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Callable
from typing import Any, cast

_CRLF = b"\r\n"


class Incomplete(Exception):
    """The buffer ends inside a reply."""


def parse_reply(buf: bytearray | bytes, pos: int, errors: Callable[[str], Exception]) -> Any:
    """(reply, next position) of the RESP2 reply starting at `pos`; Incomplete when cut."""
    end = buf.find(_CRLF, pos)
    if end < 0:
        raise Incomplete
    kind = buf[pos]
    if kind == 58:  # ':' integer
        return int(buf[pos + 1 : end]), end + 2
    if kind == 43:  # '+' simple string
        return bytes(buf[pos + 1 : end]), end + 2
    if kind == 45:  # '-' error
        return errors(bytes(buf[pos + 1 : end]).decode("utf-8", "replace")), end + 2
    if kind == 36:  # '$' bulk string
        size = int(buf[pos + 1 : end])
        if size < 0:
            return None, end + 2
        start = end + 2
        if len(buf) < start + size + 2:
            raise Incomplete
        return bytes(buf[start : start + size]), start + size + 2
    if kind == 42:  # '*' array
        count = int(buf[pos + 1 : end])
        if count < 0:
            return None, end + 2
        items = []
        pos = end + 2
        for _ in range(count):
            item, pos = parse_reply(buf, pos, errors)
            items.append(item)
        return items, pos
    raise ValueError(f"unexpected RESP reply type {chr(kind)!r}")


def command(*parts: bytes) -> bytes:
    """One command in RESP (an array of bulk strings)."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class RespConnection(asyncio.Protocol):
    """One Redis connection with pipelined commands (see the module docstring).

    `inflight` counts commands sent or reserved and not yet answered; the owner bounds it.
    """

    def __init__(self, on_lost: Callable[[RespConnection], None]) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoScriptError, ResponseError

        self._loop = asyncio.get_running_loop()
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._pending: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._down = RedisConnectionError
        self._noscript, self._response_error = NoScriptError, ResponseError
        self.inflight = 0
        self.closed = False

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        pos = 0
        pending = self._pending
        try:
            while pending and pos < len(buf):
                reply, pos = parse_reply(buf, pos, self._error)
                waiter = pending.popleft()
                self.inflight -= 1
                if waiter.done():  # its caller gave up (timed out, cancelled)
                    continue
                if isinstance(reply, Exception):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)
        except Incomplete:
            pass
        except ValueError as exc:
            self.close(exc)
            return
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or self._down("Redis closed the connection"))

    # use ----------------------------------------------------------------------------------
    def send(self, packed: bytes, replies: int = 1) -> list[asyncio.Future[Any]]:
        """Queue `packed` (holding `replies` commands; their slots already reserved in
        `inflight`) for the next write; the futures of their replies, in order."""
        if self.closed:
            raise self._down("the Redis connection is closed")
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(packed)
        futures = [self._loop.create_future() for _ in range(replies)]
        self._pending.extend(futures)
        return futures

    def send_one(self, packed: bytes) -> asyncio.Future[Any]:
        """send() of one command: the future of its reply."""
        if self.closed:
            raise self._down("the Redis connection is closed")
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(packed)
        future = self._loop.create_future()
        self._pending.append(future)
        return future

    def close(self, exc: BaseException | None = None) -> None:
        """Abort the connection; every waiting command fails."""
        if self._transport is not None:
            self._transport.abort()
        self._fail(exc)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and self._transport is not None and not self.closed:
            self._transport.write(b"".join(out))

    def _fail(self, exc: BaseException | None) -> None:
        first = not self.closed
        self.closed = True
        pending, self._pending = self._pending, collections.deque()
        self.inflight = 0
        if exc is None:
            reason = "the connection was closed"
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        for waiter in pending:
            if not waiter.done():
                waiter.set_exception(self._down(f"Redis connection lost ({reason})"))
        if first:
            self._on_lost(self)

    def _error(self, text: str) -> Exception:
        if text.startswith("NOSCRIPT"):
            return self._noscript(text)
        return self._response_error(text)


async def open_connection(
    url: str, timeout: float, on_lost: Callable[[RespConnection], None]
) -> RespConnection:
    """Connect to the Redis at `url` (redis://, rediss://, unix://), AUTH and SELECT as the
    URL says, within `timeout` seconds."""
    from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url

    options: dict[str, Any] = dict(parse_url(url))
    loop = asyncio.get_running_loop()
    conn = RespConnection(on_lost)
    kind = options.get("connection_class")
    try:
        async with asyncio.timeout(timeout):
            await _connect(loop, conn, options, kind is UnixDomainSocketConnection,
                           kind is SSLConnection)  # fmt: skip
    except BaseException:
        conn.close()
        raise
    return conn


async def _connect(
    loop: asyncio.AbstractEventLoop,
    conn: RespConnection,
    options: dict[str, Any],
    unix: bool,
    tls: bool,
) -> None:
    if unix:
        await loop.create_unix_connection(lambda: conn, options["path"])
    else:
        context = _tls_context(options) if tls else None
        host = options.get("host", "localhost")
        await loop.create_connection(
            lambda: conn, host, int(options.get("port", 6379)), ssl=context
        )
    setup = []
    if options.get("password") is not None:
        user = options.get("username")
        auth = [str(user).encode()] if user else []
        setup.append(command(b"AUTH", *auth, str(options["password"]).encode()))
    if int(options.get("db") or 0):
        setup.append(command(b"SELECT", str(int(options["db"])).encode()))
    if setup:
        conn.inflight += len(setup)
        for reply in conn.send(b"".join(setup), len(setup)):
            await reply  # an error reply raises


def _tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    if str(options.get("ssl_cert_reqs", "required")).lower() in ("none", "cert_none"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif options.get("ssl_check_hostname") in (False, "false", "False"):
        context.check_hostname = False
    return context
