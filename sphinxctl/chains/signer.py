"""The deployer's signer: a raw private key or an eth-account keystore plus its password.

Keys never leave this module: no repr, log line, error message or file shows them. Errors about
a key say which setting is wrong, never what it contained.
"""

from __future__ import annotations

import json
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
    """Signs EIP-1559 transactions for one account."""

    __slots__ = ("_account", "address")

    def __init__(self, account: Any) -> None:
        self._account = account
        self.address: str = str(account.address)

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    def sign(self, tx: dict[str, Any]) -> SignedTx:
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw="0x" + bytes(signed.raw_transaction).hex(), tx_hash=_hex(signed.hash))


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
    from eth_account import Account

    if deployer.private_key is not None:
        key = deployer.private_key.get_secret_value().strip()
        try:
            account = Account.from_key(key)
        except Exception:  # noqa: BLE001 — eth-account raises assorted types; the key is never shown
            raise ConfigError(
                "deployer.private_key is not a valid secp256k1 private key",
                hint="set it to 32 bytes of hex (0x + 64 hex digits) through its environment "
                "variable; the value is never printed",
                reference="deployer-key-invalid",
            ) from None
        return Signer(account)
    if deployer.keystore_path is not None:
        path = project_path(project_root, deployer.keystore_path)
        try:
            keyfile = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"deployer keystore {path} does not exist",
                hint="set deployer.keystore_path to an eth-account (V3) keystore file",
                reference="deployer-keystore-missing",
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"deployer keystore {path} is not readable JSON ({type(exc).__name__})",
                reference="deployer-keystore-invalid",
            ) from None
        secret = deployer.keystore_password or password
        if secret is None:
            raise ConfigError(
                f"the deployer keystore {path.name} needs its password",
                hint="set the keystore password variable, or run from a terminal to be prompted",
                reference="deployer-password-missing",
            )
        try:
            key_bytes = Account.decrypt(keyfile, secret.get_secret_value())
        except ValueError:
            raise ConfigError(
                f"cannot decrypt the deployer keystore {path.name}: wrong password",
                hint="check the keystore password variable (it is never printed)",
                reference="deployer-password-wrong",
            ) from None
        except Exception as exc:  # noqa: BLE001 — any other keystore failure is a malformed file
            raise ConfigError(
                f"deployer keystore {path.name} is malformed ({type(exc).__name__})",
                reference="deployer-keystore-invalid",
            ) from None
        return Signer(Account.from_key(key_bytes))
    raise ConfigError(
        "no deployer key configured",
        hint="set deployer.private_key (from an environment variable) or deployer.keystore_path",
        reference="deployer-missing",
    )


def deployer_address(deployer: DeployerSettings, project_root: Path) -> str:
    """The deployer's address without needing a keystore password (keystores declare it)."""
    if deployer.keystore_path is not None and deployer.private_key is None:
        path = project_path(project_root, deployer.keystore_path)
        address = keystore_address(path)
        if address:
            from eth_utils import to_checksum_address

            return str(to_checksum_address(address))
    return load_signer(deployer, project_root).address
