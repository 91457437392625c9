"""Create new signing material: an HS256 secret or an EdDSA/ES256 key pair, files mode 0600.

The secret or private key is written to disk only; the result names the files and carries the
configuration snippet to add to `auth.keys`, never the material itself.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from sphinxctl.auth.keys import KID_PATTERN, write_private_file
from sphinxctl.errors import AuthError

Algorithm = Literal["HS256", "EdDSA", "ES256"]


class GeneratedKey(BaseModel):
    """What `auth keygen` created: no secret material, only where it lives."""

    kid: str
    algorithm: Algorithm
    files: list[Path]
    config_snippet: str


def new_kid(prefix: str = "key") -> str:
    """A fresh key id: `<prefix>-<yyyymmdd>-<6 hex>`."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def generate_key(
    algorithm: Algorithm, kid: str, out_dir: Path, *, base_dir: Path | None = None
) -> GeneratedKey:
    """Write new key material for `kid` under `out_dir` (created 0700); refuse to overwrite.

    Paths in the snippet are relative to `base_dir` (the project root) when inside it.
    """
    if not KID_PATTERN.fullmatch(kid):
        raise AuthError(
            f"invalid kid {kid!r}", hint="use 1-64 letters, digits, dots, dashes or underscores"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise AuthError(f"cannot create {out_dir}: {exc.strerror}") from None

    if algorithm == "HS256":
        secret_path = out_dir / f"{kid}.secret"
        write_private_file(secret_path, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
        files = [secret_path]
        entry = f"      secret_path: {_shown(secret_path, base_dir)}\n"
    else:
        private_pem, public_pem = _key_pair(algorithm)
        private_path, public_path = out_dir / f"{kid}.key", out_dir / f"{kid}.pub"
        write_private_file(private_path, private_pem)
        write_private_file(public_path, public_pem)
        files = [private_path, public_path]
        entry = (
            f"      private_key_path: {_shown(private_path, base_dir)}\n"
            f"      public_key_path: {_shown(public_path, base_dir)}\n"
        )
    snippet = (
        "auth:\n"
        f"  algorithms: [{algorithm}]   # plus any algorithm older keys still use\n"
        "  keys:\n"
        f"    - kid: {kid}\n"
        f"      algorithm: {algorithm}\n"
        f"{entry}"
        f"  active_kid: {kid}   # switch once every replica has the new key; keep old keys\n"
        "  # listed (retired: true) until the tokens they signed have expired\n"
    )
    return GeneratedKey(kid=kid, algorithm=algorithm, files=files, config_snippet=snippet)


def _key_pair(algorithm: Algorithm) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def _shown(path: Path, base_dir: Path | None) -> str:
    if base_dir is not None:
        try:
            return str(path.resolve().relative_to(base_dir.resolve()))
        except ValueError:
            pass
    return str(path.resolve())
