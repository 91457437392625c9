"""An owner's key for signing SafeTx hashes: from an eth-account keystore file (with its
password) or a raw key the CLI read from the environment variable named by `--key-env`.

The key stays inside the `Signer` (chains/signer.py): no repr, message or file shows it; errors
name the source, never its content."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from sphinxctl.chains.signer import Signer, signer_from_key, signer_from_keystore
from sphinxctl.errors import ConfigError

# An owner signs SafeTx hashes with the same key holder the deployer signs transactions with.
OwnerKey = Signer


def key_from_secret(secret: SecretStr, source: str) -> OwnerKey:
    """A raw private key (0x + 64 hex digits); `source` names where it came from."""
    return signer_from_key(
        secret,
        ConfigError(
            f"{source} does not hold a valid secp256k1 private key",
            hint="it must be 0x + 64 hex digits; its value is never printed",
            reference="owner-key-invalid",
        ),
    )


def key_from_keystore(path: Path, password: SecretStr) -> OwnerKey:
    return signer_from_keystore(path, password, what="keystore", reference="owner")


def recover(digest: str, signature: str) -> str | None:
    """The address whose key made `signature` (r ‖ s ‖ v) over `digest`; None if malformed."""
    from eth_keys.datatypes import Signature

    try:
        raw = bytes.fromhex(signature[2:])
        if len(raw) != 65 or raw[64] not in (27, 28):
            return None
        sig = Signature(
            vrs=(raw[64] - 27, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"))
        )
        public = sig.recover_public_key_from_msg_hash(bytes.fromhex(digest[2:]))
        return str(public.to_checksum_address())
    except Exception:  # noqa: BLE001 — a signature that does not recover is no owner's
        return None
