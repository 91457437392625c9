"""Canonical JSON, the audit row hash and secret redaction (pure functions, no database).

A row's hash is SHA-256 over the canonical JSON (sorted keys, no whitespace, UTF-8) of its
fields, `prev_hash` included, so changing any field of any row, or removing or reordering rows,
breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

GENESIS_HASH = "0" * 64
REDACTED = "********"

# Key names (normalised to snake_case) that hold secrets anywhere in the key.
_SECRET_PARTS = (
    "secret",
    "password",
    "passwd",
    "passphrase",
    "private_key",
    "privatekey",
    "mnemonic",
    "seed_phrase",
    "api_key",
    "apikey",
    "authorization",
    "credential",
    "cookie",
    "signing_key",
)
# Keys whose last word marks a bearer credential: `token`, `access_token`, `jwt`, ... but not
# `token_id` or `token_uri`.
_SECRET_LAST_WORDS = ("token", "jwt", "dsn")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_JWT_VALUE = re.compile(r"^(Bearer\s+)?eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def is_secret_key(key: str) -> bool:
    """Whether a parameter named `key` may hold a secret (case and camelCase insensitive)."""
    name = _CAMEL.sub("_", key).lower().replace("-", "_").replace(" ", "_")
    if any(part in name for part in _SECRET_PARTS):
        return True
    words = [w for w in name.split("_") if w]
    return bool(words) and words[-1] in _SECRET_LAST_WORDS


def redact(value: Any) -> Any:
    """A JSON-ready copy of `value` with secret-named keys and JWT-looking strings replaced.

    Pydantic models are dumped first; SecretStr values become `********` whatever their key.
    """
    from pydantic import BaseModel, SecretBytes, SecretStr

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [redact(v) for v in items]
    if isinstance(value, str):
        return REDACTED if _JWT_VALUE.match(value) else value
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Enum):
        return redact(value.value)
    if isinstance(value, PurePath):
        return str(value)
    return str(value)


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def to_utc(moment: datetime) -> datetime:
    """Aware UTC datetime (a naive one is taken as UTC, as SQLite returns them)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Fixed-width UTC timestamp with microseconds, e.g. 2026-01-02T03:04:05.000006Z."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    *,
    seq: int,
    occurred_at: datetime,
    actor: str,
    role: str,
    action: str,
    target: str,
    params_json: str,
    result: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of a row's canonical JSON; `params_json` is the stored params text."""
    body = {
        "v": 1,
        "seq": seq,
        "occurred_at": format_time(occurred_at),
        "actor": actor,
        "role": role,
        "action": action,
        "target": target,
        "params": params_json,
        "result": result,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
