"""Key sets from configuration: weak or inconsistent material refused at start-up, EdDSA/ES256
keys, rotation by kid, and `generate_key` writing 0600 files without exposing the secret."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from pydantic import SecretStr

from sphinxctl.auth import (
    AuthError,
    KeySet,
    TokenRejected,
    generate_key,
    issue_token,
    parse_duration,
    verify_token,
)
from sphinxctl.cli.render import dump
from sphinxctl.settings.sections import AuthKey, AuthSettings

NOW = 1_800_000_000
GOOD_SECRET = "k" * 32


def settings(keys: list[AuthKey], active: str, algorithms: list[str] | None = None) -> AuthSettings:
    algs = algorithms or sorted({k.algorithm for k in keys})
    return AuthSettings(
        issuer="https://auth.sphinx.local",
        audience="sphinx-api",
        algorithms=algs,
        active_kid=active,
        keys=keys,
    )


def hmac_key(kid: str = "k1", secret: str = GOOD_SECRET, **extra: Any) -> AuthKey:
    return AuthKey(kid=kid, algorithm="HS256", secret=SecretStr(secret), **extra)


def pair(tmp_path: Path, alg: str, kid: str) -> AuthKey:
    private, public = generate_key(alg, kid, tmp_path).files  # type: ignore[arg-type]
    return AuthKey(kid=kid, algorithm=alg, private_key_path=private, public_key_path=public)


# --- HMAC secrets ----------------------------------------------------------------------------
@pytest.mark.parametrize("length", [0, 1, 16, 31])
def test_hmac_secret_under_32_bytes_is_refused_at_start_up(length: int) -> None:
    config = settings([hmac_key(secret="s" * length)], "k1")
    with pytest.raises(AuthError) as info:
        KeySet.from_settings(config, Path("."))
    assert info.value.reference == "auth-weak-secret"
    assert f"{length} bytes" in info.value.message


def test_hmac_secret_length_counts_bytes_not_characters() -> None:
    config = settings([hmac_key(secret="é" * 16)], "k1")  # 16 characters, 32 bytes
    assert KeySet.from_settings(config, Path(".")).active.kid == "k1"
    config = settings([hmac_key(secret="é" * 15)], "k1")
    with pytest.raises(AuthError, match="30 bytes"):
        KeySet.from_settings(config, Path("."))


def test_hmac_secret_file_is_read_and_checked(tmp_path: Path) -> None:
    generated = generate_key("HS256", "file-1", tmp_path / "keys")
    entry = AuthKey(kid="file-1", algorithm="HS256", secret_path=Path("keys/file-1.secret"))
    keyset = KeySet.from_settings(settings([entry], "file-1"), tmp_path)
    assert len(keyset.active.sign_key) >= 32
    short = tmp_path / "short.secret"
    short.write_text("too-short\n")
    short.chmod(0o600)
    entry = AuthKey(kid="s", algorithm="HS256", secret_path=short)
    with pytest.raises(AuthError, match="at least 32"):
        KeySet.from_settings(settings([entry], "s"), tmp_path)
    assert generated.files[0].stat().st_mode & 0o777 == 0o600


def test_secret_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = generate_key("HS256", "open", tmp_path).files[0]
    path.chmod(0o644)
    entry = AuthKey(kid="open", algorithm="HS256", secret_path=path)
    with pytest.raises(AuthError, match="group/others") as info:
        KeySet.from_settings(settings([entry], "open"), tmp_path)
    assert info.value.hint == f"chmod 600 {path}"


def test_both_secret_and_secret_file_is_refused(tmp_path: Path) -> None:
    path = generate_key("HS256", "both", tmp_path).files[0]
    entry = hmac_key("both", secret_path=path)
    with pytest.raises(AuthError, match="exactly one"):
        KeySet.from_settings(settings([entry], "both"), tmp_path)


# --- key set consistency ----------------------------------------------------------------------
def test_unknown_active_kid_is_refused() -> None:
    with pytest.raises(AuthError, match="not one of the configured keys"):
        KeySet.from_settings(settings([hmac_key()], "k9"), Path("."))


def test_retired_active_key_is_refused() -> None:
    with pytest.raises(AuthError, match="retired"):
        KeySet.from_settings(settings([hmac_key(retired=True)], "k1"), Path("."))


def test_duplicate_kid_is_refused() -> None:
    with pytest.raises(AuthError, match="duplicate"):
        KeySet.from_settings(settings([hmac_key(), hmac_key()], "k1"), Path("."))


def test_key_whose_algorithm_is_not_accepted_is_refused(tmp_path: Path) -> None:
    config = settings([hmac_key(), pair(tmp_path, "EdDSA", "ed")], "k1", ["HS256"])
    with pytest.raises(AuthError, match="EdDSA"):
        KeySet.from_settings(config, tmp_path)


def test_key_type_must_match_its_algorithm(tmp_path: Path) -> None:
    ed = pair(tmp_path, "EdDSA", "ed")
    wrong = AuthKey(kid="ed", algorithm="ES256", private_key_path=ed.private_key_path)
    with pytest.raises(AuthError, match="EC P-256"):
        KeySet.from_settings(settings([wrong], "ed"), tmp_path)


def test_mismatched_private_and_public_keys_are_refused(tmp_path: Path) -> None:
    one, two = pair(tmp_path, "ES256", "one"), pair(tmp_path, "ES256", "two")
    mixed = AuthKey(
        kid="one",
        algorithm="ES256",
        private_key_path=one.private_key_path,
        public_key_path=two.public_key_path,
    )
    with pytest.raises(AuthError, match="does not match"):
        KeySet.from_settings(settings([mixed], "one"), tmp_path)


def test_missing_key_file_is_an_auth_error(tmp_path: Path) -> None:
    entry = AuthKey(kid="gone", algorithm="EdDSA", public_key_path=tmp_path / "nope.pub")
    with pytest.raises(AuthError, match="cannot read"):
        KeySet.from_settings(settings([entry], "gone"), tmp_path)


# --- asymmetric keys ------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_asymmetric_tokens_round_trip(tmp_path: Path, alg: str) -> None:
    config = settings([pair(tmp_path, alg, "a1")], "a1")
    keyset = KeySet.from_settings(config, tmp_path)
    token, claims = issue_token(keyset, config, "carol", "operator", 120, now=NOW)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": "a1", "typ": "at+jwt"}
    assert verify_token(keyset, config, token, now=NOW) == claims


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_public_key_only_verifies_but_cannot_issue(tmp_path: Path, alg: str) -> None:
    full = settings([pair(tmp_path, alg, "a1")], "a1")
    token, _ = issue_token(KeySet.from_settings(full, tmp_path), full, "dave", "viewer", now=NOW)
    public_only = settings(
        [AuthKey(kid="a1", algorithm=alg, public_key_path=full.keys[0].public_key_path)],
        "a1",
    )
    verifier = KeySet.from_settings(public_only, tmp_path)
    assert verify_token(verifier, public_only, token, now=NOW).sub == "dave"
    with pytest.raises(AuthError, match="can only verify"):
        issue_token(verifier, public_only, "dave", "viewer")


# --- rotation --------------------------------------------------------------------------------
def test_rotation_keeps_old_tokens_valid_until_the_old_key_is_removed(tmp_path: Path) -> None:
    old = settings([hmac_key("2024-a")], "2024-a")
    old_token, _ = issue_token(KeySet.from_settings(old, tmp_path), old, "erin", "admin", now=NOW)

    new_key = pair(tmp_path, "EdDSA", "2025-b")
    rotated = settings([hmac_key("2024-a", retired=True), new_key], "2025-b")
    keyset = KeySet.from_settings(rotated, tmp_path)
    new_token, new_claims = issue_token(keyset, rotated, "erin", "admin", now=NOW)
    assert new_claims.kid == "2025-b" and new_claims.alg == "EdDSA"
    assert verify_token(keyset, rotated, old_token, now=NOW).kid == "2024-a"
    assert verify_token(keyset, rotated, new_token, now=NOW).kid == "2025-b"

    dropped = settings([new_key], "2025-b")
    with pytest.raises(TokenRejected) as info:
        verify_token(KeySet.from_settings(dropped, tmp_path), dropped, old_token, now=NOW)
    assert info.value.reason == "alg-not-allowed"  # HS256 is no longer accepted at all

    kept_alg = settings([hmac_key("2024-z"), new_key], "2025-b")
    with pytest.raises(TokenRejected) as info:
        verify_token(KeySet.from_settings(kept_alg, tmp_path), kept_alg, old_token, now=NOW)
    assert info.value.reason == "unknown-kid"


# --- keygen ----------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["HS256", "EdDSA", "ES256"])
def test_keygen_writes_0600_files_and_a_working_config_snippet(tmp_path: Path, alg: str) -> None:
    out_dir = tmp_path / ".sphinxctl" / "keys"
    result = generate_key(alg, "gen-1", out_dir, base_dir=tmp_path)  # type: ignore[arg-type]
    assert stat.S_IMODE(out_dir.stat().st_mode) == 0o700
    for path in result.files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.parent == out_dir
    snippet = yaml.safe_load(result.config_snippet)["auth"]
    config = settings([AuthKey(**snippet["keys"][0])], snippet["active_kid"], snippet["algorithms"])
    keyset = KeySet.from_settings(config, tmp_path)
    token, _ = issue_token(keyset, config, "frank", "viewer", now=NOW)
    assert verify_token(keyset, config, token, now=NOW).kid == "gen-1"
    # the secret / private key never leaves its file
    private = result.files[0].read_text().strip()
    rendered = dump(result, "json") + dump(result, "yaml") + result.config_snippet
    assert private not in rendered
    assert all(line not in rendered for line in private.splitlines() if "-----" not in line)


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    first = generate_key("HS256", "same", tmp_path)
    before = first.files[0].read_bytes()
    with pytest.raises(AuthError, match="refusing to overwrite"):
        generate_key("HS256", "same", tmp_path)
    assert first.files[0].read_bytes() == before


@pytest.mark.parametrize("kid", ["../escape", "a/b", "", "x" * 65, "semi;colon", "k\n"])
def test_keygen_refuses_unsafe_kids(tmp_path: Path, kid: str) -> None:
    with pytest.raises(AuthError, match="invalid kid"):
        generate_key("HS256", kid, tmp_path / "keys")
    assert not (tmp_path / "keys").exists()


def test_keygen_files_ignore_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        result = generate_key("EdDSA", "umask", tmp_path)
    finally:
        os.umask(previous)
    assert {stat.S_IMODE(p.stat().st_mode) for p in result.files} == {0o600}


# --- issuing ---------------------------------------------------------------------------------
def test_issue_refuses_bad_input() -> None:
    config = settings([hmac_key()], "k1")
    keyset = KeySet.from_settings(config, Path("."))
    with pytest.raises(AuthError, match="unknown role"):
        issue_token(keyset, config, "x", "root")
    with pytest.raises(AuthError, match="lifetime"):
        issue_token(keyset, config, "x", "viewer", config.max_token_ttl_seconds + 1)
    with pytest.raises(AuthError, match="lifetime"):
        issue_token(keyset, config, "x", "viewer", 0)
    for sub in ("", "a\nb", "s" * 257):
        with pytest.raises(AuthError, match="subject"):
            issue_token(keyset, config, sub, "viewer")


def test_issued_claims_carry_every_required_member() -> None:
    config = settings([hmac_key()], "k1")
    keyset = KeySet.from_settings(config, Path("."))
    token, claims = issue_token(keyset, config, "gina", "minter", 900, "other-api", now=NOW)
    payload = json.loads(jwt.utils.base64url_decode(token.split(".")[1]))
    assert set(payload) == {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "role"}
    assert (payload["exp"] - payload["iat"], payload["aud"]) == (900, "other-api")
    assert claims.permissions == [
        "auth:whoami",
        "contracts:read",
        "nfts:mint",
        "nfts:read",
        "vault:read",
    ]
    other_token, other = issue_token(keyset, config, "gina", "minter", 900, now=NOW)
    assert other.jti != claims.jti and other_token != token
    with pytest.raises(TokenRejected) as info:
        verify_token(keyset, config, token, now=NOW)
    assert info.value.reason == "bad-audience"
    assert verify_token(keyset, config, token, audience="other-api", now=NOW).sub == "gina"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), ("1w", 604800),
     ("1.5h", 5400)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "-5", "500ms", "h", "1h30m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_jti_is_unique_hex_an_operator_can_pass_on_a_command_line(tmp_path: Path) -> None:
    # A jti starting with "-" was read as an option by `sphinxctl auth revoke JTI`.
    config = settings([pair(tmp_path, "EdDSA", "a1")], "a1")
    keyset = KeySet.from_settings(config, tmp_path)
    jtis = {issue_token(keyset, config, "erin", "viewer", 60, now=NOW)[1].jti for _ in range(300)}
    assert len(jtis) == 300
    assert all(len(j) == 32 and set(j) <= set("0123456789abcdef") for j in jtis)
