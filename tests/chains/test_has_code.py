"""The one "has code" test: an account without code answers eth_getCode with "0x"."""

from __future__ import annotations

from sphinxctl.chains.reads import has_code


def test_has_code_tells_an_empty_account_from_a_contract() -> None:
    assert not any(has_code(empty) for empty in ("0x", "", "0x0"))
    assert has_code("0x6080604052") and has_code("0xef0100" + "11" * 20)
