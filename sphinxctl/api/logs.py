"""Structured JSON logs of the API server: access lines, audit lines, errors.

Every line is one JSON object. Secrets never reach a line: known sensitive keys are replaced
by `********`, and values shaped like bearer tokens, JWTs or private keys are masked wherever
they appear (query strings, error messages, parameters).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

from sphinxctl.platform.actions import AUDIT_LOGGER as AUDIT_LOGGER  # audited actions' lines
from sphinxctl.platform.actions import log_event as log_event

ACCESS_LOGGER = "sphinxctl.api.access"
ERROR_LOGGER = "sphinxctl.api.error"
REDACTED = "********"

_SENSITIVE_KEY = re.compile(
    r"(authorization|cookie|token|secret|password|passwd|private|api[_-]?key|dsn|signature)",
    re.IGNORECASE,
)
_SENSITIVE_VALUE = re.compile(
    r"(?i:bearer\s+)[A-Za-z0-9._~+/=-]+"  # bearer credentials
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWTs
    r"|\b(?:0x)?[0-9a-fA-F]{64}\b"  # 32-byte hex: private keys (and, harmlessly, hashes)
)
_HASH_KEYS = frozenset({"tx_hash", "transaction_hash", "root", "leaf", "hash", "prev_hash"})


def redact_text(text: str) -> str:
    """Mask token- and key-shaped substrings of free text."""
    return _SENSITIVE_VALUE.sub(REDACTED, text)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of `value` safe to log: sensitive keys masked, secret-shaped strings masked.

    Values under hash-like keys (`tx_hash`, `root`, ...) are public and kept whole.
    """
    if key is not None and _SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        return value if key in _HASH_KEYS else redact_text(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def redact_query(query: str) -> str:
    """A query string with sensitive parameters' values masked."""
    if not query:
        return ""
    parts = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and _SENSITIVE_KEY.search(name):
            value = REDACTED
        parts.append(f"{name}{sep}{redact_text(value)}")
    return "&".join(parts)


def might_hold_secret(text: str) -> bool:
    """A cheap pre-check: False means redact_text would change nothing (no JWT, no bearer
    credential, nothing 64 characters long), so the regex can be skipped."""
    return len(text) >= 64 or _MAYBE_SECRET.search(text) is not None


_MAYBE_SECRET = re.compile(r"eyJ|earer", re.IGNORECASE)


def scrub(text: str) -> str:
    """redact_text, skipped when the text cannot hold what it masks."""
    return redact_text(text) if might_hold_secret(text) else text


class _Timestamp:
    """The ISO timestamp of a log line, re-formatted only when the second changes."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"


_timestamp = _Timestamp()


def access_line(fields: dict[str, Any]) -> None:
    """Write one access line: the same JSON object the formatter writes, built in one pass.

    The caller passes values that are safe already (route templates, numbers, enums) or were
    scrubbed; nothing is walked or matched again. About a quarter of what log_event costs per
    line (bench/bench_api.py prints both)."""
    logger = _access_logger
    if not logger.isEnabledFor(logging.INFO):
        return
    now = time.time()
    line = _dumps(
        {
            "ts": _timestamp(now),
            "level": "info",
            "logger": ACCESS_LOGGER,
            "event": "request",
            **fields,
        }
    )
    handler = _json_handler
    if handler is not None and handler.sole_sink_of(logger):
        handler.write_line(line)  # what logger.handle would do, without a LogRecord
        return
    record = logger.makeRecord(ACCESS_LOGGER, logging.INFO, "", 0, "request", (), None)
    record.created = now
    record.json_line = line
    logger.handle(record)


_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode
_access_logger = logging.getLogger(ACCESS_LOGGER)
_parent_logger = logging.getLogger("sphinxctl")


class JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stream handler `configure_logging` installs; access lines are written to it
    directly (see `sole_sink_of`)."""

    def sole_sink_of(self, logger: logging.Logger) -> bool:
        """True when this handler is the only place `logger`'s records go and keeps them
        all: the logging call chain would end in `emit` here anyway."""
        current: logging.Logger | None = logger
        while current is not _parent_logger:
            if current is None or current.handlers or current.filters or not current.propagate:
                return False
            current = current.parent
        return (
            _parent_logger.handlers == [self]
            and not _parent_logger.filters
            and not _parent_logger.propagate
            and not self.filters
            and self.level <= logging.INFO
        )

    _flush_pending = False

    def write_line(self, line: str) -> None:
        """Write one line now; flush at the end of the event loop's current turn, so the
        lines of requests finishing together leave in one write (at once without a loop)."""
        with self.lock or contextlib.nullcontext():
            self.stream.write(line + self.terminator)
        if self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_pending = True
        loop.call_soon(self._flush_turn)

    def _flush_turn(self) -> None:
        self._flush_pending = False
        self.flush()


_json_handler: JsonLinesHandler | None = None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, plus the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        prebuilt = getattr(record, "json_line", None)
        if prebuilt is not None:
            return str(prebuilt)
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact_text(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            line.update(redact(dict(fields)))
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, default=str, separators=(",", ":"))


def _buffered_stderr() -> Any:
    """stderr, block-buffered (access lines are flushed once per event-loop turn), or
    sys.stderr itself when it is not a file descriptor (a test runner's capture)."""
    try:
        descriptor = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.stderr
    return open(  # lives as long as the process
        descriptor, "w", buffering=1 << 16, encoding="utf-8", errors="backslashreplace",
        closefd=False,
    )  # fmt: skip


def configure_logging(level: str = "info", stream: Any = None) -> None:
    """Send the API's loggers (and uvicorn's) to `stream` as JSON lines."""
    global _json_handler
    handler = JsonLinesHandler(stream or _buffered_stderr())
    handler.setFormatter(JsonFormatter())
    _json_handler = handler
    for name in ("sphinxctl", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # Our own access middleware logs requests (redacted); uvicorn's access log would not be.
    logging.getLogger("uvicorn.access").disabled = True
