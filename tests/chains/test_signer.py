"""The deployer's signer: raw key or keystore + password; secrets never in errors or reprs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_typing import HexStr
from pydantic import SecretStr

from sphinxctl.chains.signer import deployer_address, load_signer, needs_password
from sphinxctl.errors import ConfigError
from sphinxctl.settings.sections import DeployerSettings

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDRESS = Account.from_key(KEY).address


def _keystore(tmp_path: Path, password: str) -> Path:
    path = tmp_path / "deployer.json"
    path.write_text(json.dumps(Account.encrypt(HexStr(KEY), password, kdf="pbkdf2", iterations=2)))
    return path


def test_a_raw_key_signs_and_never_shows_itself() -> None:
    signer = load_signer(DeployerSettings(private_key=SecretStr(KEY)), Path("."))
    assert signer.address == ADDRESS
    assert KEY[2:] not in repr(signer) and KEY[2:] not in str(signer)
    signed = signer.sign(
        {
            "type": 2,
            "chainId": 1,
            "nonce": 0,
            "to": ADDRESS,
            "value": 0,
            "gas": 21000,
            "maxFeePerGas": 1,
            "maxPriorityFeePerGas": 0,
            "data": "0x",
        }
    )
    assert signed.raw.startswith("0x02") and len(signed.tx_hash) == 66


def test_an_invalid_key_is_named_but_not_printed() -> None:
    bad = "0x" + "zz" * 32
    with pytest.raises(ConfigError) as caught:
        # past the settings' own check (see test_config_validate_rejects_...)
        load_signer(DeployerSettings.model_construct(private_key=SecretStr(bad)), Path("."))
    assert caught.value.reference == "deployer-key-invalid"
    assert "zz" not in caught.value.message + (caught.value.hint or "")
    assert caught.value.__cause__ is None


def test_a_keystore_opens_with_its_password_only(tmp_path: Path) -> None:
    path = _keystore(tmp_path, "correct horse")
    settings = DeployerSettings(keystore_path=path)
    assert needs_password(settings)
    assert deployer_address(settings, tmp_path) == ADDRESS  # readable without the password
    with pytest.raises(ConfigError) as missing:
        load_signer(settings, tmp_path)
    assert missing.value.reference == "deployer-password-missing"
    with pytest.raises(ConfigError) as wrong:
        load_signer(settings, tmp_path, password=SecretStr("battery staple"))
    assert wrong.value.reference == "deployer-password-wrong"
    assert "battery" not in wrong.value.message
    assert load_signer(settings, tmp_path, password=SecretStr("correct horse")).address == ADDRESS
    configured = DeployerSettings(keystore_path=path, keystore_password=SecretStr("correct horse"))
    assert not needs_password(configured)
    assert load_signer(configured, tmp_path).address == ADDRESS


def test_no_key_at_all_says_which_settings_to_fill(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_signer(DeployerSettings(), tmp_path)
    assert caught.value.reference == "deployer-missing"
    with pytest.raises(ConfigError) as absent:
        load_signer(DeployerSettings(keystore_path=Path("nope.json")), tmp_path)
    assert absent.value.reference == "deployer-keystore-missing"


def test_an_empty_keystore_variable_means_no_keystore() -> None:
    settings = DeployerSettings.model_validate({"private_key": KEY, "keystore_path": ""})
    assert settings.keystore_path is None
