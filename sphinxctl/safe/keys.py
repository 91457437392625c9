"""An owner's key for signing SafeTx hashes: from an eth-account keystore file (with its
password) or a raw key the CLI read from the environment variable named by `--key-env`.

The key stays inside `OwnerKey`: no repr, message or file shows it; errors name the source,
never its content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from sphinxctl.errors import ConfigError


class OwnerKey:
    """Signs 32-byte hashes (raw ECDSA, v 27/28: Safe's plain owner signature)."""

    __slots__ = ("_account", "address")

    def __init__(self, account: Any) -> None:
        self._account = account
        self.address: str = str(account.address)

    def __repr__(self) -> str:
        return f"OwnerKey({self.address})"

    def sign_hash(self, digest: str) -> str:
        from eth_account import Account

        signed = Account.unsafe_sign_hash(bytes.fromhex(digest[2:]), self._account.key)
        return (
            "0x"
            + (
                signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
            ).hex()
        )


def key_from_secret(secret: SecretStr, source: str) -> OwnerKey:
    """A raw private key (0x + 64 hex digits); `source` names where it came from."""
    from eth_account import Account

    try:
        return OwnerKey(Account.from_key(secret.get_secret_value().strip()))
    except Exception:  # noqa: BLE001 — eth-account raises assorted types; the key is never shown
        raise ConfigError(
            f"{source} does not hold a valid secp256k1 private key",
            hint="it must be 0x + 64 hex digits; its value is never printed",
            reference="owner-key-invalid",
        ) from None


def key_from_keystore(path: Path, password: SecretStr) -> OwnerKey:
    from eth_account import Account

    try:
        keyfile = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"keystore {path} does not exist", reference="owner-keystore-missing"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"keystore {path} is not readable JSON ({type(exc).__name__})",
            reference="owner-keystore-invalid",
        ) from None
    try:
        return OwnerKey(Account.from_key(Account.decrypt(keyfile, password.get_secret_value())))
    except ValueError:
        raise ConfigError(
            f"cannot decrypt the keystore {path.name}: wrong password",
            reference="owner-password-wrong",
        ) from None
    except Exception as exc:  # noqa: BLE001 — any other keystore failure is a malformed file
        raise ConfigError(
            f"keystore {path.name} is malformed ({type(exc).__name__})",
            reference="owner-keystore-invalid",
        ) from None


def recover(digest: str, signature: str) -> str | None:
    """The address whose key made `signature` (r ‖ s ‖ v) over `digest`; None if malformed."""
    from eth_keys import keys

    try:
        raw = bytes.fromhex(signature[2:])
        if len(raw) != 65 or raw[64] not in (27, 28):
            return None
        sig = keys.Signature(
            vrs=(raw[64] - 27, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"))
        )
        public = sig.recover_public_key_from_msg_hash(bytes.fromhex(digest[2:]))
        return str(public.to_checksum_address())
    except Exception:  # noqa: BLE001 — a signature that does not recover is no owner's
        return None
