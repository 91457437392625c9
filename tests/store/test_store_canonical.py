"""Canonical JSON, the audit row hash and secret redaction (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from sphinxctl.store.canonical import (
    GENESIS_HASH,
    REDACTED,
    canonical_json,
    format_time,
    is_secret_key,
    redact,
    row_hash,
)

ROW = {
    "seq": 1,
    "occurred_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    "actor": "alice",
    "role": "admin",
    "action": "pause",
    "target": "ethereum/X",
    "params_json": "{}",
    "result": "ok",
    "prev_hash": GENESIS_HASH,
}


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "secret",
        "jwtSecret",
        "client_secret",
        "private_key",
        "privateKey",
        "DEPLOYER_PRIVATE_KEY",
        "token",
        "access_token",
        "refreshToken",
        "jwt",
        "api_key",
        "apiKey",
        "mnemonic",
        "Authorization",
        "sentry_dsn",
        "keystore_passphrase",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["token_id", "tokenId", "token_uri", "phi_score", "chain", "recipient", "tokens", "kid"]
)
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_walks_nested_values() -> None:
    params = {
        "to": "0xabc",
        "auth": {"password": "p", "list": [{"secret": "s", "n": 1}]},
        "token_id": 5,
        "bearer": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        "key_material": SecretStr("hidden"),
        "amount": Decimal("1.5"),
        "when": datetime(2026, 1, 1, tzinfo=UTC),
        "path": Path("/tmp/x"),
        "raw": b"\x01\x02",
        "tags": {"b", "a"},
    }
    assert redact(params) == {
        "to": "0xabc",
        "auth": {"password": REDACTED, "list": [{"secret": REDACTED, "n": 1}]},
        "token_id": 5,
        "bearer": REDACTED,
        "key_material": REDACTED,
        "amount": "1.5",
        "when": "2026-01-01T00:00:00.000000Z",
        "path": "/tmp/x",
        "raw": "0x0102",
        "tags": ["a", "b"],
    }


def test_canonical_json_is_sorted_and_compact_and_refuses_nan() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": "é", "c": None}]}) == (
        '{"a":[1,{"c":null,"d":"é"}],"b":1}'
    )
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_time_format_is_fixed_width_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 1, 2, 5, 4, 5, tzinfo=plus_two)) == (
        "2026-01-02T03:04:05.000000Z"
    )
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 7)) == "2026-01-02T03:04:05.000007Z"


def test_row_hash_is_stable_and_covers_every_field() -> None:
    base = row_hash(**ROW)  # type: ignore[arg-type]
    assert base == row_hash(**ROW)  # type: ignore[arg-type]
    assert len(base) == 64 and int(base, 16) >= 0
    changes = {
        "seq": 2,
        "occurred_at": ROW["occurred_at"] + timedelta(microseconds=1),  # type: ignore[operator]
        "actor": "bob",
        "role": "operator",
        "action": "unpause",
        "target": "polygon/X",
        "params_json": '{"a":1}',
        "result": "failed",
        "prev_hash": "1" * 64,
    }
    for field, value in changes.items():
        assert row_hash(**{**ROW, field: value}) != base, field  # type: ignore[arg-type]
    same_moment = ROW["occurred_at"].astimezone(timezone(timedelta(hours=-5)))  # type: ignore[attr-defined]
    assert row_hash(**{**ROW, "occurred_at": same_moment}) == base


@settings(deadline=None, max_examples=60)  # no deadline: the machine may be busy
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
    )
)
def test_redacted_params_always_serialise_canonically(params: dict[str, object]) -> None:
    redacted = redact(params)
    text = canonical_json(redacted)
    assert canonical_json(redact(params)) == text
    assert redact(redacted) == redacted  # redacting twice changes nothing
