"""The API poller's yield figure comes from the vault's real Harvested events on anvil."""

from __future__ import annotations

import pytest
from web3.types import RPCEndpoint

from sphinxctl.chains.rpc import ChainClient
from sphinxctl.platform.harvests import MAX_BLOCK_RANGE, HarvestScanner, harvested_profit
from sphinxctl.settings import ChainSettings
from tests.support.chain import UNIT, System

pytestmark = pytest.mark.integration


def _client(system: System) -> ChainClient:
    url = system.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    chain_id = system.chain.w3.eth.chain_id
    return ChainClient(ChainSettings(name="ethereum", chain_id=chain_id, rpc_urls=[url]))


def test_scanner_counts_each_harvest_once_from_its_first_head(system: System) -> None:
    s, client, scanner = system, _client(system), HarvestScanner()
    s.chain.tx(s.token.functions.mint(s.s1.address, 5 * UNIT), s.admin)
    s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)  # before the first scan
    head = s.chain.w3.eth.block_number
    assert scanner.scan("ethereum", client, s.vault.address, head) == 0

    s.chain.tx(s.token.functions.mint(s.s1.address, 300 * UNIT), s.admin)
    s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)
    s.chain.tx(s.token.functions.mint(s.s2.address, 20 * UNIT), s.admin)
    s.chain.tx(s.vault.functions.harvest(s.s2.address), s.operator)
    head = s.chain.w3.eth.block_number
    assert scanner.scan("ethereum", client, s.vault.address, head) == 320 * UNIT
    assert scanner.scan("ethereum", client, s.vault.address, head) == 0  # nothing new


def test_a_long_gap_is_scanned_in_bounded_ranges(system: System) -> None:
    s, client, scanner = system, _client(system), HarvestScanner()
    start = s.chain.w3.eth.block_number
    scanner.scan("ethereum", client, s.vault.address, start)
    s.chain.w3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(MAX_BLOCK_RANGE + 10)])
    s.chain.tx(s.token.functions.mint(s.s1.address, 9 * UNIT), s.admin)
    s.chain.tx(s.vault.functions.harvest(s.s1.address), s.operator)
    head = s.chain.w3.eth.block_number
    first = scanner.scan("ethereum", client, s.vault.address, head)
    assert first == 0  # the harvest lies past the first bounded range
    assert scanner.scan("ethereum", client, s.vault.address, head) == 9 * UNIT
    assert harvested_profit(client, s.vault.address, start + 1, head) == 9 * UNIT
