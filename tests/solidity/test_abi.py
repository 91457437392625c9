"""The one ABI codec: calls by signature and calls by contract and name encode alike; the
contract names are defined once."""

from __future__ import annotations

from typing import get_args

from sphinxctl.solidity.abi import AbiCodec, encode_call, event_topic, selector_hex, signature_of
from sphinxctl.solidity.names import NFT, PAUSABLE, VAULT, PausableName

GRANT = {
    "type": "function",
    "name": "grantRole",
    "inputs": [{"name": "role", "type": "bytes32"}, {"name": "account", "type": "address"}],
    "outputs": [],
}
TUPLE_EVENT = {
    "type": "event",
    "name": "Moved",
    "inputs": [
        {"name": "p", "type": "tuple[]", "components": [{"type": "address"}, {"type": "uint8"}]}
    ],
}
ACCOUNT = "0x" + "ab" * 20
ROLE = bytes(range(32))


def test_a_call_by_signature_equals_the_call_by_contract_and_name() -> None:
    by_name = AbiCodec({"C": [GRANT]}).encode_call("C", "grantRole", [ROLE, ACCOUNT])
    by_signature = encode_call("grantRole(bytes32,address)", ["0x" + ROLE.hex(), ACCOUNT])
    assert by_name == by_signature
    assert by_name.startswith(selector_hex("grantRole(bytes32,address)"))
    assert selector_hex("grantRole(bytes32,address)") == "0x2f2ff15d"  # OpenZeppelin's


def test_signatures_expand_tuples_for_selectors_and_topics() -> None:
    assert signature_of(TUPLE_EVENT) == "Moved((address,uint8)[])"
    assert event_topic("Transfer(address,address,uint256)") == (
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    )


def test_the_pausable_path_values_are_the_contract_names() -> None:
    assert get_args(PausableName) == PAUSABLE == (NFT, VAULT)
    assert (NFT, VAULT) == ("SpaceFlightNFT", "SphinxYieldAggregator")
