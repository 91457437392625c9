"""Reads that used to swallow failures now fail loudly, against a real anvil (and a real closed
port for the unreachable case): `decimals()`, code presence, and RpcError in the error tree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sphinxctl.chains.reads import asset_decimals, code_present
from sphinxctl.chains.rpc import ChainClient, RpcError
from sphinxctl.errors import ChainError, ExitCode, SphinxError
from sphinxctl.settings import ChainSettings
from tests.support.deploy_env import Anvil
from tests.support.ports import free_port

pytestmark = pytest.mark.integration

# Runtime code that returns 6 for any call: PUSH1 6, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
RETURNS_SIX = "0x600660005260206000f3"
# Runtime code that reverts every call: PUSH1 0, PUSH1 0, REVERT.
REVERTS = "0x60006000fd"
TOKEN = "0x00000000000000000000000000000000000a55e7"
EMPTY = "0x000000000000000000000000000000000000dead"


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    started = Anvil(31337)
    yield started
    started.stop()


def _client(url: str) -> ChainClient:
    settings = ChainSettings(name="local", chain_id=31337, rpc_urls=[url], rpc_timeout_seconds=2)
    return ChainClient(settings, attempts=1, sleep=lambda _: None)


def test_decimals_of_a_six_decimal_asset(node: Anvil) -> None:
    node.call("anvil_setCode", TOKEN, RETURNS_SIX)
    assert asset_decimals(_client(node.url), TOKEN) == 6


def test_decimals_that_revert_are_an_error_not_18(node: Anvil) -> None:
    node.call("anvil_setCode", TOKEN, REVERTS)
    with pytest.raises(ChainError) as caught:
        asset_decimals(_client(node.url), TOKEN)
    assert caught.value.reference == "asset-decimals-unreadable"
    assert TOKEN in caught.value.message


def test_decimals_of_an_address_without_code_are_an_error(node: Anvil) -> None:
    with pytest.raises(ChainError, match="no contract code there"):
        asset_decimals(_client(node.url), EMPTY)


def test_decimals_on_an_unreachable_node_are_an_error() -> None:
    with pytest.raises(ChainError) as caught:
        asset_decimals(_client(f"http://127.0.0.1:{free_port()}"), TOKEN)
    assert caught.value.reference == "asset-decimals-unreadable"


def test_code_present_tells_code_from_none(node: Anvil) -> None:
    node.call("anvil_setCode", TOKEN, RETURNS_SIX)
    found = code_present(_client(node.url), {"Token": TOKEN, "Gone": EMPTY})
    assert found == {"Token": True, "Gone": False}


def test_code_present_on_an_unreachable_node_raises_instead_of_no_code() -> None:
    with pytest.raises(ChainError) as caught:
        code_present(_client(f"http://127.0.0.1:{free_port()}"), {"Token": TOKEN})
    assert caught.value.reference == "code-unreadable"
    assert "Token" in caught.value.message


def test_a_node_error_is_a_chain_error_with_method_and_code(node: Anvil) -> None:
    node.call("anvil_setCode", TOKEN, REVERTS)
    with pytest.raises(RpcError) as caught:
        _client(node.url).call({"to": TOKEN, "data": "0x313ce567"})
    error = caught.value
    assert isinstance(error, ChainError) and isinstance(error, SphinxError)
    assert error.exit_code == ExitCode.CHAIN
    assert error.reference == "rpc-error"
    assert "revert" in error.message
    assert error.details == {"method": "eth_call", "code": error.code}
    assert error.hint is not None and "eth_call" in error.hint
    assert str(error).startswith("eth_call: ")
