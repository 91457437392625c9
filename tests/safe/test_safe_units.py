"""Safe pieces that need no chain: actions resolved against the compiled ABIs, argument
checking, owner keys (never shown), signature recovery, explorer verification links."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sphinxctl.errors import ConfigError, UsageError
from sphinxctl.safe.actions import ACTIONS, build_call
from sphinxctl.safe.keys import key_from_secret, recover

ROOT = Path(__file__).resolve().parents[2]
KEY = "0x" + "11" * 32
ACCOUNT = "0x" + "ab" * 20


@pytest.fixture(scope="module")
def abis() -> dict[str, list[dict[str, object]]]:
    from sphinxctl.deploy.safe import load_safe_artifacts
    from sphinxctl.solidity.compiler import compile_contracts

    found = {n: a.abi for n, a in compile_contracts(ROOT).artifacts.items()}
    found["Safe"] = load_safe_artifacts(ROOT)["Safe"].abi
    return found


def test_every_admin_action_of_the_current_contracts_encodes(abis: dict) -> None:
    args = {
        "pause": ["vault"],
        "unpause": ["nft"],
        "emergency-shutdown": [],
        "set-rarity-root": ["0x" + "cd" * 32],
        "grant-role": ["nft", "MINTER_ROLE", ACCOUNT],
        "revoke-role": ["vault", "OPERATOR_ROLE", ACCOUNT],
        "set-treasury": ["vault", ACCOUNT],
        "add-strategy": [ACCOUNT],
        "retire-strategy": [ACCOUNT],
        "set-treasury-fee": ["250"],
        "set-mint-fee": ["2", "1000000000000000"],
        "set-referral-bps": ["100"],
        "set-phi-bounds": ["100", "900"],
        "set-royalty": [ACCOUNT, "500"],
        "call": ["safe", "changeThreshold(uint256)", "3"],
    }
    for action, values in args.items():
        call = build_call(action, values, abis)
        assert call.data.startswith("0x") and len(call.data) >= 10, action
        assert call.decoded.startswith(call.contract + "."), (action, call.decoded)
    grant = build_call("grant-role", ["nft", "MINTER_ROLE", ACCOUNT], abis)
    assert grant.decoded == f"SpaceFlightNFT.grantRole(role=MINTER_ROLE, account={grant.args[1]})"
    newer = {"force-remove-strategy", "set-profit-unlock-time", "sweep"}
    newer |= {"begin-admin-transfer", "accept-admin-transfer"}  # the two-step admin contracts
    assert set(args) | newer == set(ACTIONS)


@pytest.mark.parametrize(
    ("action", "values", "expected"),
    [
        ("pause", ["treasury"], "unknown contract"),
        ("set-treasury-fee", ["70000"], "not a valid uint16"),
        ("set-treasury-fee", ["-1"], "not a valid uint16"),
        ("set-rarity-root", ["0x1234"], "not a valid bytes32"),
        ("grant-role", ["vault", "ADMIN_ROLE"], "takes 2 argument(s)"),
        ("call", ["vault", "drain(address)", ACCOUNT], "no state-changing function"),
        ("call", ["vault", "totalAssets()"], "no state-changing function"),
        ("launch", [], "unknown Safe action"),
    ],
)
def test_bad_actions_and_arguments_are_usage_errors(
    abis: dict, action: str, values: list[str], expected: str
) -> None:
    with pytest.raises(UsageError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        build_call(action, values, abis)


def test_owner_key_signs_recoverably_and_never_shows_itself() -> None:
    key = key_from_secret(SecretStr(KEY), "$OWNER")
    digest = "0x" + "42" * 32
    signature = key.sign_hash(digest)
    assert recover(digest, signature) == key.address
    assert recover("0x" + "43" * 32, signature) != key.address
    assert recover(digest, signature[:-2] + "1f") is None  # v must be 27 or 28
    assert KEY[2:] not in repr(key) and not hasattr(key, "__dict__")
    with pytest.raises(ConfigError) as refused:
        key_from_secret(SecretStr("0x1234-secret"), "$OWNER")
    assert "1234-secret" not in refused.value.message and "$OWNER" in refused.value.message


def test_verification_links_exist_only_where_an_explorer_does() -> None:
    from sphinxctl.chains.registry import explorer_base, verify_url
    from sphinxctl.settings.chains import ChainSettings

    chain = ChainSettings(name="polygon", chain_id=137, rpc_urls=["http://127.0.0.1:1"])
    assert verify_url(explorer_base(chain, "mainnet"), ACCOUNT) == (
        f"https://polygonscan.com/verifyContract?a={ACCOUNT}"
    )
    assert verify_url(explorer_base(chain, "local"), ACCOUNT) is None
