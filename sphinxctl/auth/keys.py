"""Key sets: signing and verification keys selected by `kid` from local configuration only.

A key set is built once at start-up from `settings.auth` (never from token headers such as
jku/x5u/jwk). The active key signs new tokens; every other configured key, retired or not,
still verifies until it is removed from the configuration (after its tokens have expired).
Construction refuses weak or inconsistent material with an AuthError: an HMAC secret under
32 bytes, a private key readable by group/others, a key whose type does not match its
algorithm, a mismatched private/public pair, an unknown or retired active kid.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import AuthError
from sphinxctl.settings.paths import project_path

if TYPE_CHECKING:
    from sphinxctl.settings.sections import AuthKey, AuthSettings

MIN_HMAC_SECRET_BYTES = 32
KID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ALGORITHMS = ("HS256", "EdDSA", "ES256")


@dataclass(frozen=True)
class SigningKey:
    """One key of the set. `sign_key` is None for verify-only keys (public key only)."""

    kid: str
    algorithm: str
    retired: bool
    verify_key: Any = field(repr=False)
    sign_key: Any = field(default=None, repr=False)

    @property
    def can_sign(self) -> bool:
        return self.sign_key is not None


class KeySet:
    """The configured keys by kid, the accepted algorithms and the active (signing) kid."""

    def __init__(self, keys: Iterable[SigningKey], active_kid: str, algorithms: Iterable[str]):
        self.algorithms = frozenset(algorithms)
        unknown = self.algorithms - set(ALGORITHMS)
        if unknown:
            raise AuthError(f"unsupported JWT algorithm(s): {', '.join(sorted(unknown))}")
        self._keys: dict[str, SigningKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise AuthError(f"duplicate key id {key.kid!r} in auth.keys")
            if key.algorithm not in self.algorithms:
                raise AuthError(
                    f"key {key.kid!r} uses {key.algorithm}, which auth.algorithms does not accept",
                    hint=f"add {key.algorithm} to auth.algorithms or remove the key",
                )
            self._keys[key.kid] = key
        active = self._keys.get(active_kid)
        if active is None:
            raise AuthError(
                f"auth.active_kid {active_kid!r} is not one of the configured keys",
                hint="set active_kid to the kid of a key listed under auth.keys",
            )
        if active.retired:
            raise AuthError(f"the active key {active_kid!r} is marked retired")
        self.active_kid = active_kid

    @classmethod
    def from_settings(cls, auth: AuthSettings, base_dir: Path) -> KeySet:
        """Load every key of `auth.keys`; relative key paths resolve against `base_dir`."""
        return cls(
            (load_key(k, base_dir) for k in auth.keys),
            active_kid=auth.active_kid,
            algorithms=auth.algorithms,
        )

    def get(self, kid: str) -> SigningKey | None:
        return self._keys.get(kid)

    @property
    def active(self) -> SigningKey:
        """The key new tokens are signed with (AuthError when only its public part is known)."""
        key = self._keys[self.active_kid]
        if not key.can_sign:
            raise AuthError(
                f"the active key {key.kid!r} has no private part here; this host can only verify",
                hint="configure private_key_path for the active key to issue tokens",
            )
        return key

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)


def load_key(config: AuthKey, base_dir: Path) -> SigningKey:
    """Build one SigningKey from its configuration entry (reads key files)."""
    if config.algorithm == "HS256":
        secret = _hmac_secret(config, base_dir)
        return SigningKey(config.kid, "HS256", config.retired, verify_key=secret, sign_key=secret)
    return _asymmetric_key(config, base_dir)


def _hmac_secret(config: AuthKey, base_dir: Path) -> bytes:
    if config.private_key_path or config.public_key_path:
        raise AuthError(f"HS256 key {config.kid!r} takes a secret, not key files")
    if (config.secret is None) == (config.secret_path is None):
        raise AuthError(
            f"HS256 key {config.kid!r} needs exactly one of secret or secret_path",
            hint="run `sphinxctl auth keygen --alg HS256` to create a secret file",
        )
    if config.secret is not None:
        secret = config.secret.get_secret_value().encode("utf-8")
    else:
        assert config.secret_path is not None
        secret = _read_private_file(config.kid, project_path(base_dir, config.secret_path)).strip()
    if len(secret) < MIN_HMAC_SECRET_BYTES:
        raise AuthError(
            f"HS256 secret of key {config.kid!r} is {len(secret)} bytes; "
            f"at least {MIN_HMAC_SECRET_BYTES} are required",
            reference="auth-weak-secret",
            hint="generate one with `sphinxctl auth keygen --alg HS256`",
        )
    return secret


def _asymmetric_key(config: AuthKey, base_dir: Path) -> SigningKey:
    from cryptography.hazmat.primitives import serialization

    if config.secret is not None or config.secret_path is not None:
        raise AuthError(f"{config.algorithm} key {config.kid!r} takes key files, not a secret")
    private = public = None
    if config.private_key_path is not None:
        data = _read_private_file(config.kid, project_path(base_dir, config.private_key_path))
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise AuthError(f"key {config.kid!r}: unreadable private key PEM ({exc})") from None
        _check_type(config, private.public_key())
    if config.public_key_path is not None:
        path = project_path(base_dir, config.public_key_path)
        try:
            public = serialization.load_pem_public_key(path.read_bytes())
        except OSError as exc:
            raise AuthError(f"key {config.kid!r}: cannot read {path}: {exc.strerror}") from None
        except (ValueError, TypeError) as exc:
            raise AuthError(f"key {config.kid!r}: unreadable public key PEM ({exc})") from None
        _check_type(config, public)
    if private is None and public is None:
        raise AuthError(
            f"{config.algorithm} key {config.kid!r} needs private_key_path or public_key_path"
        )
    if private is not None:
        derived = private.public_key()
        if public is not None and _spki(public) != _spki(derived):
            raise AuthError(f"key {config.kid!r}: the public key does not match the private key")
        public = derived
    return SigningKey(
        config.kid, config.algorithm, config.retired, verify_key=public, sign_key=private
    )


def _check_type(config: AuthKey, public: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if config.algorithm == "EdDSA":
        ok = isinstance(public, ed25519.Ed25519PublicKey)
        expected = "an Ed25519 key"
    else:
        ok = isinstance(public, ec.EllipticCurvePublicKey) and isinstance(
            public.curve, ec.SECP256R1
        )
        expected = "an EC P-256 key"
    if not ok:
        raise AuthError(f"key {config.kid!r}: {config.algorithm} needs {expected}")


def _spki(public: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _read_private_file(kid: str, path: Path) -> bytes:
    """Read secret material, refusing files that group or others can read (like ssh)."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuthError(
                f"key {kid!r}: {path} is accessible by group/others "
                f"(mode {stat.S_IMODE(mode):04o})",
                hint=f"chmod 600 {path}",
            )
        return path.read_bytes()
    except OSError as exc:
        raise AuthError(f"key {kid!r}: cannot read {path}: {exc.strerror}") from None


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 (never overwriting) and write `data` to it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AuthError(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise AuthError(f"cannot create {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
