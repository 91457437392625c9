"""The compact JWS of an access token, checked before any claim is read: size -> three
segments -> canonical unpadded base64url -> strict JSON (no duplicate members, no NaN) ->
header (alg from the key set, `typ` = at+jwt, no `crit`, a well-formed `kid` of a local key whose
algorithm is the header's) -> signature (pyjwt's algorithm implementations). Header parameters
that point at keys (jku, x5u, jwk, x5c) are ignored: keys come from configuration.

Every failure is a `TokenRejected` with its stable reason (counted by the caller, tokens.py).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from sphinxctl.auth.keys import KID_PATTERN, KeySet, SigningKey
from sphinxctl.errors import TokenRejected

TOKEN_TYPE = "at+jwt"
MAX_TOKEN_BYTES = 8192

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
# Header parameters whose meaning we would have to implement; their presence is refused.
_UNSUPPORTED_HEADERS = ("b64", "zip")


def verified_payload(keyset: KeySet, token: str) -> tuple[dict[str, Any], SigningKey]:
    """The token's payload (a JSON object, claims not yet checked) and the key that signed it."""
    if not isinstance(token, str):
        raise TokenRejected("malformed-segments", "token must be a string")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected(
            "too-large", f"token is {len(token)} bytes; at most {MAX_TOKEN_BYTES} are accepted"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRejected(
            "malformed-segments", f"a JWS has 3 dot-separated segments, this token has {len(parts)}"
        )
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(_b64decode(header_b64, "header"), "header")
    key = _check_header(keyset, header)
    signature = _b64decode(signature_b64, "signature")
    payload_raw = _b64decode(payload_b64, "payload")
    _check_signature(key, f"{header_b64}.{payload_b64}".encode("ascii"), signature)
    return _json_object(payload_raw, "payload"), key


def _b64decode(segment: str, name: str) -> bytes:
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise TokenRejected("malformed-base64", f"the {name} is not unpadded base64url")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise TokenRejected("malformed-base64", f"the {name} is not canonical base64url")
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate member {name!r}")
        result[name] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TokenRejected("malformed-json", f"the {name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise TokenRejected("malformed-json", f"the {name} must be a JSON object")
    return value


def _check_header(keyset: KeySet, header: dict[str, Any]) -> SigningKey:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or alg not in keyset.algorithms:
        raise TokenRejected(
            "alg-not-allowed",
            f"algorithm {alg!r} is not accepted (accepted: {', '.join(sorted(keyset.algorithms))})",
        )
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}"):
        raise TokenRejected("bad-typ", f"header typ must be {TOKEN_TYPE!r}, got {typ!r}")
    if "crit" in header:
        raise TokenRejected("crit-unsupported", "the token lists critical header extensions")
    for name in _UNSUPPORTED_HEADERS:
        if name in header:
            raise TokenRejected("bad-header", f"header parameter {name!r} is not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise TokenRejected("bad-kid", "header kid is missing or not a well-formed key id")
    key = keyset.get(kid)
    if key is None:
        raise TokenRejected("unknown-kid", f"no configured key has kid {kid!r}")
    if key.algorithm != alg:
        raise TokenRejected(
            "alg-key-mismatch", f"key {kid!r} is a {key.algorithm} key; the token says {alg}"
        )
    return key


def _check_signature(key: SigningKey, signing_input: bytes, signature: bytes) -> None:
    from jwt.algorithms import get_default_algorithms

    algorithm = get_default_algorithms()[key.algorithm]
    if not signature or not algorithm.verify(signing_input, key.verify_key, signature):
        raise TokenRejected("bad-signature", "signature verification failed")
