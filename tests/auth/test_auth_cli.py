"""`sphinxctl auth token|verify|keygen|revoke|roles` on a copy of the project's config, with a
real Redis for revocation."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration


LOCAL_JWT_SECRET = "local-development-secret-not-for-production-use"


def run(config_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    argv = ["--config-dir", str(config_dir), "-e", "local", "auth", *args]
    result = CliRunner().invoke(app, argv, env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cfg(config_dir: Path, clean_env: pytest.MonkeyPatch, redis: RedisServer) -> Path:
    """The local environment with its Redis pointed at the shared test server."""
    clean_env.setenv("SPHINXCTL_REDIS_URL", redis.url)
    return config_dir


def edit_auth(config_dir: Path, **changes: object) -> None:
    path = config_dir / "local.yaml"
    data = yaml.safe_load(path.read_text())
    data["auth"].update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def issue(cfg: Path, *extra: str) -> str:
    code, out, err = run(cfg, "token", "--sub", "alice", "--role", "minter", *extra)
    assert code == 0, err
    return out.strip()


def test_token_prints_only_the_token_and_verify_prints_its_claims(cfg: Path) -> None:
    token = issue(cfg, "--ttl", "15m")
    assert token.count(".") == 2 and "\n" not in token
    code, out, err = run(cfg, "verify", token, "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["claims"]["sub"] == "alice" and report["claims"]["role"] == "minter"
    assert report["claims"]["exp"] - report["claims"]["iat"] == 900
    assert "nfts:mint" in report["permissions"] and report["revocation_checked"] is True
    code, out, _ = run(cfg, "verify", token)
    assert code == 0 and "alice" in out and "nfts:mint" in out


def test_token_json_output_and_audience(cfg: Path) -> None:
    code, out, _ = run(
        cfg, "token", "--sub", "svc", "--role", "viewer", "--aud", "other", "-o", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["claims"]["aud"] == ["other"]
    code, _, err = run(cfg, "verify", data["token"], "--offline")
    assert code == 1 and "token-bad-audience" in err
    assert run(cfg, "verify", data["token"], "--offline", "--aud", "other")[0] == 0


def test_verify_prints_the_exact_rejection_reason(cfg: Path) -> None:
    token = issue(cfg)
    head, body, signature = token.split(".")
    tampered = f"{head}.{body[:-2]}xx.{signature}"
    cases = {
        f"{head}.{body}.": "token-bad-signature",
        f"{head}.{body}": "token-malformed-segments",
        tampered: "token-",
        "e30.e30.e30": "token-alg-not-allowed",  # {} as header
    }
    for bad, reason in cases.items():
        code, out, err = run(cfg, "verify", bad, "--offline")
        assert code == 1, bad
        assert reason in err and out == ""


def test_verify_expired_token_json_error(cfg: Path) -> None:
    from sphinxctl.auth import KeySet, issue_token
    from sphinxctl.settings import load_settings

    settings = load_settings("local", cfg).settings
    keyset = KeySet.from_settings(settings.auth, cfg.parent)
    old, _ = issue_token(keyset, settings.auth, "bob", "viewer", 60, now=time.time() - 3600)
    code, out, err = run(cfg, "verify", old, "-o", "json", "--offline")
    assert code == 1 and out == ""
    error = json.loads(err)
    assert error["error"] == "token-expired" and error["details"]["reason"] == "expired"


def test_revoke_by_jti_then_verify_says_revoked(cfg: Path, redis: RedisServer) -> None:
    token = issue(cfg)
    jti = json.loads(run(cfg, "verify", token, "-o", "json")[1])["claims"]["jti"]
    code, out, err = run(cfg, "revoke", jti, "-o", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["jti"] == jti and record["ttl_seconds"] == 86400 + 10  # max lifetime + leeway
    ttl = redis.command("TTL", f"sphinx:revoked:{jti}")
    assert isinstance(ttl, int) and 86400 <= ttl <= 86410
    code, _, err = run(cfg, "verify", token)
    assert code == 1 and "token-revoked" in err and jti in err
    assert run(cfg, "verify", token, "--offline")[0] == 0  # offline cannot know


def test_revoke_by_token_keeps_the_entry_only_for_its_lifetime(
    cfg: Path, redis: RedisServer
) -> None:
    token = issue(cfg, "--ttl", "10m")
    code, out, err = run(cfg, "revoke", token)
    assert code == 0, err and "revoked" in out
    keys = redis.command("KEYS", "sphinx:revoked:*")
    assert len(keys) == 1
    ttl = redis.command("TTL", keys[0])
    assert isinstance(ttl, int) and 600 <= ttl <= 611
    assert "token-revoked" in run(cfg, "verify", token)[2]


def test_verify_and_revoke_when_redis_is_down(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    with RedisServer() as server:
        url = server.url
    clean_env.setenv("SPHINXCTL_REDIS_URL", url)
    token = issue(config_dir)
    code, _, err = run(config_dir, "verify", token)
    assert code == 1 and "token-revocation-unavailable" in err and "--offline" in err
    code, _, err = run(config_dir, "revoke", "some-jti")
    assert code == 1 and "revocation-store-unavailable" in err


def test_keygen_then_rotate_to_the_new_key(cfg: Path) -> None:
    old_token = issue(cfg)
    code, out, err = run(cfg, "keygen", "--alg", "EdDSA", "--kid", "local-2", "-o", "json")
    assert code == 0, err
    result = json.loads(out)
    private, public = (Path(p) for p in result["files"])
    key_dir = cfg.parent / ".sphinxctl" / "keys"
    assert private.parent == key_dir and stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (private, public)} == {0o600}
    pem_body = "".join(private.read_text().splitlines()[1:-1])
    assert pem_body not in out + err

    snippet = yaml.safe_load(result["config_snippet"])["auth"]
    data = yaml.safe_load((cfg / "local.yaml").read_text())["auth"]
    old_key = {**data["keys"][0], "retired": True}
    edit_auth(
        cfg,
        algorithms=["HS256", "EdDSA"],
        keys=[old_key, *snippet["keys"]],
        active_kid=snippet["active_kid"],
    )
    new_token = issue(cfg)
    verified = json.loads(run(cfg, "verify", new_token, "-o", "json")[1])["claims"]
    assert (verified["kid"], verified["alg"]) == ("local-2", "EdDSA")
    assert json.loads(run(cfg, "verify", old_token, "-o", "json")[1])["claims"]["kid"] == "local-1"


def test_keygen_hs256_table_output_never_shows_the_secret(cfg: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "elsewhere"
    code, out, err = run(cfg, "keygen", "--alg", "HS256", "--kid", "h1", "--out-dir", str(out_dir))
    assert code == 0, err
    secret = (out_dir / "h1.secret").read_text().strip()
    assert len(secret) >= 32 and secret not in out + err
    assert "secret_path:" in out and "h1" in out
    code, _, err = run(cfg, "keygen", "--alg", "HS256", "--kid", "h1", "--out-dir", str(out_dir))
    assert code == 1 and "refusing to overwrite" in err


def test_weak_configured_secret_is_refused_at_start_up(cfg: Path) -> None:
    edit_auth(cfg, keys=[{"kid": "local-1", "algorithm": "HS256", "secret": "short-secret"}])
    code, out, err = run(cfg, "token", "--sub", "a", "--role", "viewer")
    assert code == 1 and out == ""
    assert "auth-weak-secret" in err and "12 bytes" in err and "short-secret" not in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["token", "--sub", "a", "--role", "root"], 2, "--role"),
        (["token", "--sub", "a", "--role", "viewer", "--ttl", "soon"], 2, "invalid duration"),
        (["token", "--sub", "a", "--role", "viewer", "--ttl", "2d"], 1, "lifetime"),
        (["token", "--role", "viewer"], 2, "--sub"),
        (["keygen", "--alg", "RS256"], 2, "--alg"),
        (["keygen", "--kid", "../x"], 1, "invalid kid"),
    ],
)
def test_bad_arguments(cfg: Path, args: list[str], code: int, message: str) -> None:
    result = run(cfg, *args)
    assert result[0] == code
    assert message in result[1] + result[2]


def test_roles_table(cfg: Path) -> None:
    code, out, _ = run(cfg, "roles", "-o", "json")
    assert code == 0
    table = json.loads(out)
    assert set(table) == {"admin", "operator", "minter", "viewer"}
    assert "admin:shutdown" in table["admin"] and "admin:shutdown" not in table["operator"]


def test_secret_from_config_never_printed(cfg: Path) -> None:
    token = issue(cfg)
    for fmt in ("table", "json", "yaml"):
        code, out, err = run(cfg, "verify", token, "-o", fmt)
        assert code == 0, err
        assert LOCAL_JWT_SECRET not in out + err
