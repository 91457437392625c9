"""The ABI decoding fallbacks catch malformed payloads only (not every exception)."""

from __future__ import annotations

import pytest

from sphinxctl.solidity.abi import AbiCodec, describe_revert, selector_hex

ABI = [{"type": "error", "name": "Bad", "inputs": [{"name": "who", "type": "address"}]}]


def test_revert_reason_decodes() -> None:
    data = "0x08c379a0" + "20".rjust(64, "0") + "2".rjust(64, "0") + "6869".ljust(64, "0")
    assert describe_revert(data, []) == "hi"


@pytest.mark.parametrize(
    "body",
    ["", "zz", "00" * 3, "20".rjust(64, "0") + "ff".rjust(64, "0")],  # empty, bad hex, short, long
)
def test_malformed_revert_data_is_undescribed(body: str) -> None:
    assert describe_revert("0x08c379a0" + body, []) is None


def test_custom_error_with_truncated_arguments_keeps_its_name() -> None:
    selector = selector_hex("Bad(address)")
    codec = AbiCodec({"C": ABI})
    assert codec.decode_error(selector + "00" * 5) == ("Bad", [])
    whole = codec.decode_error(selector + "11".rjust(64, "0"))
    assert whole == ("Bad", ["0x" + "11".rjust(40, "0")])


def test_a_bug_in_the_abi_is_not_swallowed() -> None:
    broken = [{"type": "error", "name": "Bad", "inputs": [{"name": "x"}]}]  # no "type"
    with pytest.raises(KeyError):
        describe_revert(selector_hex("Bad(address)") + "00" * 32, [broken])
