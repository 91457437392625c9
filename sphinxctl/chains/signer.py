"""The deployer's signer: a raw private key or an eth-account keystore plus its password.

Keys never leave this module: no repr, log line, error message or file shows them. Errors about
a key say which setting is wrong, never what it contained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from sphinxctl.errors import ConfigError
from sphinxctl.settings.paths import project_path
from sphinxctl.settings.sections import DeployerSettings


class SignedTx(BaseModel):
    """A signed transaction: its raw bytes (public once broadcast) and its hash."""

    raw: str
    tx_hash: str


class Signer:
    """One account's key: signs EIP-1559 transactions, and raw 32-byte hashes (ECDSA, v 27/28:
    a Safe owner's plain signature). The key itself is never shown."""

    __slots__ = ("_account", "address")

    def __init__(self, account: Any) -> None:
        self._account = account
        self.address: str = str(account.address)

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    def sign(self, tx: dict[str, Any]) -> SignedTx:
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw="0x" + bytes(signed.raw_transaction).hex(), tx_hash=_hex(signed.hash))

    def sign_hash(self, digest: str) -> str:
        """r ‖ s ‖ v over the 0x-hex `digest`, as 0x-hex."""
        from eth_account import Account

        signed = Account.unsafe_sign_hash(bytes.fromhex(digest[2:]), self._account.key)
        raw: bytes = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big")
        return "0x" + (raw + bytes([signed.v])).hex()


def signer_from_key(secret: SecretStr, error: ConfigError) -> Signer:
    """The account of a raw private key; `error` (naming the setting, never the value) when it is
    not one."""
    from eth_account import Account

    try:
        return Signer(Account.from_key(secret.get_secret_value().strip()))
    except Exception:  # noqa: BLE001 — eth-account raises assorted types; the key is never shown
        raise error from None


def signer_from_keystore(
    path: Path,
    password: SecretStr | None,
    *,
    what: str,
    reference: str,
    hints: Mapping[str, str] | None = None,
) -> Signer:
    """The account of an eth-account (V3) keystore file. `what` names the file in messages
    ("deployer keystore"), `reference` prefixes the errors' references (`<reference>-keystore-
    missing`, `-keystore-invalid`, `-password-missing`, `-password-wrong`), `hints` maps those
    suffixes to hints."""
    from eth_account import Account

    hints = hints or {}

    def failure(message: str, kind: str) -> ConfigError:
        return ConfigError(message, hint=hints.get(kind), reference=f"{reference}-{kind}")

    try:
        keyfile = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise failure(f"{what} {path} does not exist", "keystore-missing") from None
    except (OSError, ValueError) as exc:
        raise failure(
            f"{what} {path} is not readable JSON ({type(exc).__name__})", "keystore-invalid"
        ) from None
    if password is None:
        raise failure(f"the {what} {path.name} needs its password", "password-missing")
    try:
        key_bytes = Account.decrypt(keyfile, password.get_secret_value())
    except ValueError:
        raise failure(
            f"cannot decrypt the {what} {path.name}: wrong password", "password-wrong"
        ) from None
    except Exception as exc:  # noqa: BLE001 — any other keystore failure is a malformed file
        raise failure(
            f"{what} {path.name} is malformed ({type(exc).__name__})", "keystore-invalid"
        ) from None
    return Signer(Account.from_key(key_bytes))


def _hex(value: Any) -> str:
    text = value.hex() if hasattr(value, "hex") else str(value)
    return text if text.startswith("0x") else "0x" + text


def keystore_address(path: Path) -> str | None:
    """The address a keystore file declares (readable without the password), if any."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    address = data.get("address") if isinstance(data, dict) else None
    return f"0x{address}" if isinstance(address, str) and not address.startswith("0x") else address


def needs_password(deployer: DeployerSettings) -> bool:
    """True when the deployer is a keystore whose password is not configured."""
    return deployer.keystore_path is not None and deployer.keystore_password is None


def load_signer(
    deployer: DeployerSettings, project_root: Path, *, password: SecretStr | None = None
) -> Signer:
    """The configured deployer. `password` (from a prompt) is used when the settings hold none."""
    if deployer.private_key is not None:
        return signer_from_key(
            deployer.private_key,
            ConfigError(
                "deployer.private_key is not a valid secp256k1 private key",
                hint="set it to 32 bytes of hex (0x + 64 hex digits) through its environment "
                "variable; the value is never printed",
                reference="deployer-key-invalid",
            ),
        )
    if deployer.keystore_path is not None:
        return signer_from_keystore(
            project_path(project_root, deployer.keystore_path),
            deployer.keystore_password or password,
            what="deployer keystore",
            reference="deployer",
            hints=DEPLOYER_KEYSTORE_HINTS,
        )
    raise ConfigError(
        "no deployer key configured",
        hint="set deployer.private_key (from an environment variable) or deployer.keystore_path",
        reference="deployer-missing",
    )


DEPLOYER_KEYSTORE_HINTS = {
    "keystore-missing": "set deployer.keystore_path to an eth-account (V3) keystore file",
    "password-missing": "set the keystore password variable, or run from a terminal to be prompted",
    "password-wrong": "check the keystore password variable (it is never printed)",
}


def deployer_address(deployer: DeployerSettings, project_root: Path) -> str:
    """The deployer's address without needing a keystore password (keystores declare it)."""
    if deployer.keystore_path is not None and deployer.private_key is None:
        path = project_path(project_root, deployer.keystore_path)
        address = keystore_address(path)
        if address:
            from eth_utils.address import to_checksum_address

            return str(to_checksum_address(address))
    return load_signer(deployer, project_root).address
