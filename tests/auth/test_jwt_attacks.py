"""The JWT attack suite: every forged or malformed token is rejected with its specific reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from sphinxctl.auth import (
    KeySet,
    MemoryRevocations,
    TokenRejected,
    generate_key,
    issue_token,
    verify_token,
)
from sphinxctl.metrics import REGISTRY
from sphinxctl.settings.sections import AuthKey, AuthSettings

NOW = 1_800_000_000
SECRET = b"attack-suite-secret-0123456789-abcdefgh"
ISSUER = "https://auth.sphinx.local"
AUDIENCE = "sphinx-api"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def seg(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def hs256(secret: bytes, header: dict[str, Any] | str, payload: dict[str, Any] | str) -> str:
    """A token signed by hand (header/payload given as dicts or as raw segments)."""
    head = header if isinstance(header, str) else seg(header)
    body = payload if isinstance(payload, str) else seg(payload)
    signing_input = f"{head}.{body}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def noncanonical(segment: str) -> str:
    """The same bytes, spelled with non-zero unused bits in the last character."""
    assert len(segment) % 4 in (2, 3)
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for char in alphabet:
        variant = segment[:-1] + char
        if variant != segment and base64.urlsafe_b64decode(variant + "==") == decoded:
            return variant
    raise AssertionError("no non-canonical spelling")


def header(**extra: Any) -> dict[str, Any]:
    return {"alg": "HS256", "typ": "at+jwt", "kid": "k1", **extra}


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": AUDIENCE,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
        "jti": "jti-0001",
        "role": "viewer",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def auth_settings(**changes: Any) -> AuthSettings:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "algorithms": ["HS256"],
        "active_kid": "k1",
        "keys": [AuthKey(kid="k1", algorithm="HS256", secret=SecretStr(SECRET.decode()))],
        "leeway_seconds": 10,
    }
    values.update(changes)
    return AuthSettings(**values)


@pytest.fixture
def auth() -> AuthSettings:
    return auth_settings()


@pytest.fixture
def keyset(auth: AuthSettings) -> KeySet:
    return KeySet.from_settings(auth, Path("."))


def rejected(keyset: KeySet, auth: AuthSettings, token: str, **kwargs: Any) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        verify_token(keyset, auth, token, now=kwargs.pop("now", NOW), **kwargs)
    return info.value


def test_hand_forged_baseline_is_accepted(keyset: KeySet, auth: AuthSettings) -> None:
    result = verify_token(keyset, auth, hs256(SECRET, header(), claims()), now=NOW)
    assert (result.sub, result.role.value, result.kid) == ("alice", "viewer", "k1")


def test_issued_token_verifies(keyset: KeySet, auth: AuthSettings) -> None:
    token, issued = issue_token(keyset, auth, "bob", "minter", 300, now=NOW)
    assert verify_token(keyset, auth, token, now=NOW + 1) == issued


# --- algorithm ----------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", "signed"])
def test_alg_none_is_rejected(keyset: KeySet, auth: AuthSettings, alg: str, signature: str) -> None:
    if signature:
        token = hs256(SECRET, header(alg=alg), claims())
    else:
        token = f"{seg(header(alg=alg))}.{seg(claims())}."
    assert rejected(keyset, auth, token).reason == "alg-not-allowed"


@pytest.mark.parametrize("alg", ["HS384", "HS512", "RS256", "PS256", "", None, 7])
def test_algorithm_outside_the_configured_list_is_rejected(
    keyset: KeySet, auth: AuthSettings, alg: Any
) -> None:
    token = hs256(SECRET, header(alg=alg), claims())
    assert rejected(keyset, auth, token).reason == "alg-not-allowed"


# --- signature and payload -----------------------------------------------------------------
def test_stripped_signature_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    head, body, _ = hs256(SECRET, header(), claims()).split(".")
    assert rejected(keyset, auth, f"{head}.{body}.").reason == "bad-signature"


def test_altered_signature_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    head, body, signature = hs256(SECRET, header(), claims()).split(".")
    altered = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert rejected(keyset, auth, f"{head}.{body}.{altered}").reason == "bad-signature"


def test_signature_of_another_token_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    head, body, _ = hs256(SECRET, header(), claims()).split(".")
    other = hs256(SECRET, header(), claims(sub="mallory")).split(".")[2]
    assert rejected(keyset, auth, f"{head}.{body}.{other}").reason == "bad-signature"


def test_wrong_secret_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(b"another-secret-of-enough-length-0123456789", header(), claims())
    assert rejected(keyset, auth, token).reason == "bad-signature"


def test_tampered_payload_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    head, _, signature = hs256(SECRET, header(), claims(role="viewer")).split(".")
    forged_body = seg(claims(role="admin"))
    assert rejected(keyset, auth, f"{head}.{forged_body}.{signature}").reason == "bad-signature"


def test_tampered_header_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    _, body, signature = hs256(SECRET, header(), claims()).split(".")
    forged_head = seg(header(extra="x"))
    assert rejected(keyset, auth, f"{forged_head}.{body}.{signature}").reason == "bad-signature"


# --- HS256 signed with the public key of an asymmetric key ----------------------------------
@pytest.fixture
def eddsa(tmp_path: Path) -> tuple[AuthKey, bytes, str]:
    """An EdDSA key: its config entry, its public PEM, and its public JWK (JSON)."""
    from cryptography.hazmat.primitives import serialization
    from jwt.algorithms import OKPAlgorithm

    generated = generate_key("EdDSA", "ed1", tmp_path)
    private_path, public_path = generated.files
    public_pem = public_path.read_bytes()
    public = serialization.load_pem_public_key(public_pem)
    jwk = OKPAlgorithm.to_jwk(public)  # type: ignore[arg-type]
    entry = AuthKey(
        kid="ed1", algorithm="EdDSA", private_key_path=private_path, public_key_path=public_path
    )
    return entry, public_pem, jwk


@pytest.mark.parametrize("material", ["pem", "jwk"])
def test_hs256_with_public_key_when_only_eddsa_is_accepted(
    eddsa: tuple[AuthKey, bytes, str], material: str
) -> None:
    entry, pem, jwk = eddsa
    auth = auth_settings(algorithms=["EdDSA"], active_kid="ed1", keys=[entry])
    keyset = KeySet.from_settings(auth, Path("."))
    secret = pem if material == "pem" else jwk.encode()
    token = hs256(secret, header(kid="ed1"), claims())
    assert rejected(keyset, auth, token).reason == "alg-not-allowed"
    genuine, _ = issue_token(keyset, auth, "alice", "viewer", 60, now=NOW)
    assert verify_token(keyset, auth, genuine, now=NOW).alg == "EdDSA"


@pytest.mark.parametrize("material", ["pem", "jwk"])
def test_hs256_with_public_key_when_both_algorithms_are_accepted(
    eddsa: tuple[AuthKey, bytes, str], material: str
) -> None:
    entry, pem, jwk = eddsa
    hmac_key = AuthKey(kid="k1", algorithm="HS256", secret=SecretStr(SECRET.decode()))
    auth = auth_settings(algorithms=["HS256", "EdDSA"], active_kid="ed1", keys=[hmac_key, entry])
    keyset = KeySet.from_settings(auth, Path("."))
    secret = pem if material == "pem" else jwk.encode()
    token = hs256(secret, header(kid="ed1"), claims())
    assert rejected(keyset, auth, token).reason == "alg-key-mismatch"


# --- exp, nbf, iat ------------------------------------------------------------------------
def test_missing_exp_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    error = rejected(keyset, auth, hs256(SECRET, header(), claims(exp=_DROP)))
    assert (error.reason, error.details["claim"]) == ("missing-claim", "exp")


def test_expired_token_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(SECRET, header(), claims(iat=NOW - 700, nbf=NOW - 700, exp=NOW - 100))
    assert rejected(keyset, auth, token).reason == "expired"


def test_expiry_within_leeway_is_accepted_and_beyond_is_not(
    keyset: KeySet, auth: AuthSettings
) -> None:
    token = hs256(SECRET, header(), claims(exp=NOW))
    assert verify_token(keyset, auth, token, now=NOW + 9).sub == "alice"
    assert rejected(keyset, auth, token, now=NOW + 10).reason == "expired"


@pytest.mark.parametrize("exp", ["1900000000", "tomorrow", True, None, [NOW + 60], {"t": 1}, -5])
def test_non_numeric_exp_is_rejected(keyset: KeySet, auth: AuthSettings, exp: Any) -> None:
    error = rejected(keyset, auth, hs256(SECRET, header(), claims(exp=exp)))
    assert (error.reason, error.details["claim"]) == ("invalid-claim", "exp")


def test_nan_exp_is_rejected_as_malformed(keyset: KeySet, auth: AuthSettings) -> None:
    body = b64(json.dumps(claims()).replace(str(NOW + 600), "NaN").encode())
    assert rejected(keyset, auth, hs256(SECRET, header(), body)).reason == "malformed-json"


def test_future_nbf_beyond_leeway_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    assert verify_token(keyset, auth, hs256(SECRET, header(), claims(nbf=NOW + 10)), now=NOW)
    token = hs256(SECRET, header(), claims(nbf=NOW + 11))
    assert rejected(keyset, auth, token).reason == "not-yet-valid"


def test_future_iat_beyond_leeway_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(SECRET, header(), claims(iat=NOW + 60, nbf=_DROP, exp=NOW + 600))
    assert rejected(keyset, auth, token).reason == "iat-in-future"


def test_lifetime_longer_than_configured_maximum_is_rejected(
    keyset: KeySet, auth: AuthSettings
) -> None:
    token = hs256(SECRET, header(), claims(exp=NOW + auth.max_token_ttl_seconds + 1))
    assert rejected(keyset, auth, token).reason == "lifetime-too-long"


# --- audience and issuer ---------------------------------------------------------------------
@pytest.mark.parametrize("aud", ["other-api", "sphinx-api-evil", "sphinx", ["a", "b"], []])
def test_wrong_audience_is_rejected(keyset: KeySet, auth: AuthSettings, aud: Any) -> None:
    reason = rejected(keyset, auth, hs256(SECRET, header(), claims(aud=aud))).reason
    assert reason == ("invalid-claim" if aud == [] else "bad-audience")


def test_missing_audience_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    error = rejected(keyset, auth, hs256(SECRET, header(), claims(aud=_DROP)))
    assert (error.reason, error.details["claim"]) == ("missing-claim", "aud")


def test_audience_list_containing_ours_is_accepted(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(SECRET, header(), claims(aud=["other", AUDIENCE]))
    assert verify_token(keyset, auth, token, now=NOW).aud == ["other", AUDIENCE]


@pytest.mark.parametrize(
    "iss",
    [
        "https://auth.sphinx",  # prefix of ours
        "auth.sphinx.local",  # substring of ours
        "https://auth.sphinx.local.evil.example",  # ours as a prefix
        "https://auth.sphinx.loca",
        "HTTPS://AUTH.SPHINX.LOCAL",
        "",
    ],
)
def test_issuer_must_match_exactly(keyset: KeySet, auth: AuthSettings, iss: str) -> None:
    reason = rejected(keyset, auth, hs256(SECRET, header(), claims(iss=iss))).reason
    assert reason == ("invalid-claim" if iss == "" else "bad-issuer")


# --- header parameters -------------------------------------------------------------------------
@pytest.mark.parametrize("crit", [["exp"], ["http://example.com/unknown"], [], "b64"])
def test_crit_header_is_rejected(keyset: KeySet, auth: AuthSettings, crit: Any) -> None:
    token = hs256(SECRET, header(crit=crit, **{"http://example.com/unknown": True}), claims())
    assert rejected(keyset, auth, token).reason == "crit-unsupported"


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt2", 1])
def test_wrong_typ_is_rejected(keyset: KeySet, auth: AuthSettings, typ: Any) -> None:
    head = header(typ=typ) if typ is not None else {"alg": "HS256", "kid": "k1"}
    assert rejected(keyset, auth, hs256(SECRET, head, claims())).reason == "bad-typ"


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "../k1",
        "k1/../k1",
        "x' OR '1'='1",
        "k1'; DROP TABLE keys; --",
        "k1\x00",
        "k1\n",
        "",
        None,
        42,
        "k" * 65,
    ],
)
def test_hostile_kid_is_rejected(keyset: KeySet, auth: AuthSettings, kid: Any) -> None:
    assert rejected(keyset, auth, hs256(SECRET, header(kid=kid), claims())).reason == "bad-kid"


def test_unknown_kid_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(SECRET, header(kid="k2"), claims())
    assert rejected(keyset, auth, token).reason == "unknown-kid"


def test_jku_and_x5u_are_ignored(keyset: KeySet, auth: AuthSettings) -> None:
    """Key URLs in the header are never fetched: the attacker's key does not verify, ours does."""
    with socket.socket() as trap:
        trap.bind(("127.0.0.1", 0))
        trap.listen(4)
        trap.setblocking(False)
        url = f"http://127.0.0.1:{trap.getsockname()[1]}/jwks.json"
        attacker = b"attacker-controlled-secret-0123456789-xyz"
        hostile = header(jku=url, x5u=url, jwk={"kty": "oct", "k": b64(attacker)})
        assert rejected(keyset, auth, hs256(attacker, hostile, claims())).reason == "bad-signature"
        genuine = verify_token(keyset, auth, hs256(SECRET, hostile, claims()), now=NOW)
        assert genuine.sub == "alice"
        with pytest.raises(BlockingIOError):
            trap.accept()  # nobody ever connected to the key URL


# --- revocation and required claims ----------------------------------------------------------
def test_revoked_jti_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    revocations = MemoryRevocations()
    token = hs256(SECRET, header(), claims(jti="revoke-me"))
    assert verify_token(keyset, auth, token, revocations, now=NOW).jti == "revoke-me"
    revocations.revoke("revoke-me", 600)
    assert rejected(keyset, auth, token, revocations=revocations).reason == "revoked"


@pytest.mark.parametrize("claim", ["jti", "iat", "iss", "sub", "role"])
def test_missing_required_claim_is_rejected(keyset: KeySet, auth: AuthSettings, claim: str) -> None:
    error = rejected(keyset, auth, hs256(SECRET, header(), claims(**{claim: _DROP})))
    assert (error.reason, error.details["claim"]) == ("missing-claim", claim)


@pytest.mark.parametrize("jti", ["", 12, None, "j" * 129])
def test_invalid_jti_is_rejected(keyset: KeySet, auth: AuthSettings, jti: Any) -> None:
    error = rejected(keyset, auth, hs256(SECRET, header(), claims(jti=jti)))
    assert (error.reason, error.details["claim"]) == ("invalid-claim", "jti")


@pytest.mark.parametrize("role", ["root", "Admin", "admin ", ""])
def test_unknown_role_is_rejected(keyset: KeySet, auth: AuthSettings, role: str) -> None:
    reason = rejected(keyset, auth, hs256(SECRET, header(), claims(role=role))).reason
    assert reason == ("invalid-claim" if role == "" else "bad-role")


# --- structure and encoding -------------------------------------------------------------------
def test_two_and_four_segments_are_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(SECRET, header(), claims())
    head, body, signature = token.split(".")
    for bad in (f"{head}.{body}", f"{token}.{signature}", token.replace(".", ""), ""):
        assert rejected(keyset, auth, bad).reason == "malformed-segments"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h, b, s: (h + "!", b, s),  # outside the alphabet
        lambda h, b, s: (h + "==", b, s),  # padding
        lambda h, b, s: (h, b.replace("e", "+", 1), s),  # standard (not url-safe) alphabet
        lambda h, b, s: (h, b, s + "AA"),  # impossible length (4n + 1)
        lambda h, b, s: (h, b, noncanonical(s)),  # unused trailing bits set
    ],
)
def test_bad_base64_is_rejected(keyset: KeySet, auth: AuthSettings, mangle: Any) -> None:
    head, body, signature = hs256(SECRET, header(), claims()).split(".")
    parts = mangle(head, body, signature)
    assert rejected(keyset, auth, ".".join(parts)).reason == "malformed-base64"


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'"alg"', b"\xff\xfe", b"{"])
def test_non_json_header_is_rejected(keyset: KeySet, auth: AuthSettings, raw: bytes) -> None:
    token = f"{b64(raw)}.{seg(claims())}.{b64(b'x' * 32)}"
    assert rejected(keyset, auth, token).reason == "malformed-json"


def test_duplicate_header_member_is_rejected(keyset: KeySet, auth: AuthSettings) -> None:
    raw = b'{"alg":"none","alg":"HS256","typ":"at+jwt","kid":"k1"}'
    token = hs256(SECRET, b64(raw), claims())
    assert rejected(keyset, auth, token).reason == "malformed-json"


def test_non_json_payload_with_valid_signature_is_rejected(
    keyset: KeySet, auth: AuthSettings
) -> None:
    token = hs256(SECRET, header(), b64(b"sub=alice;role=admin"))
    assert rejected(keyset, auth, token).reason == "malformed-json"


def test_100_kb_header_is_rejected_before_parsing(keyset: KeySet, auth: AuthSettings) -> None:
    token = hs256(SECRET, header(pad="A" * 100_000), claims())
    assert rejected(keyset, auth, token).reason == "too-large"


def test_rejections_are_counted_by_reason(keyset: KeySet, auth: AuthSettings) -> None:
    def count() -> float:
        labels = {"reason": "bad-kid"}
        return REGISTRY.get_sample_value("sphinxos_auth_failures_total", labels) or 0.0

    before = count()
    rejected(keyset, auth, hs256(SECRET, header(kid="../x"), claims()))
    assert count() == before + 1
