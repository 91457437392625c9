"""Constructors the deploy code relies on: DevnetSPX and the aggregator's argument checks."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError

from tests.support.chain import UNIT, ZERO, System

pytestmark = pytest.mark.integration


def test_devnet_spx_mints_initial_supply_and_is_an_open_faucet(system: System) -> None:
    s = system
    spx = s.chain.deploy("DevnetSPX", s.users[0], 1_000_000 * UNIT, sender=s.admin)
    assert (spx.functions.symbol().call(), spx.functions.decimals().call()) == ("SPX", 18)
    assert (
        spx.functions.totalSupply().call()
        == spx.functions.balanceOf(s.users[0]).call()
        == 1_000_000 * UNIT
    )
    s.chain.tx(spx.functions.mint(s.outsider, 5 * UNIT), s.outsider)
    assert spx.functions.balanceOf(s.outsider).call() == 5 * UNIT


def test_aggregator_constructor_checks_its_arguments(system: System) -> None:
    s = system
    artifact = s.chain.artifacts["SphinxYieldAggregator"]
    factory = s.chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    for args, error in (
        ((s.users[0], s.treasury, s.admin, 3600), "AssetHasNoCode"),
        ((s.token.address, ZERO, s.admin, 3600), "ZeroAddress"),
        ((s.token.address, s.treasury, ZERO, 3600), "AccessControlInvalidDefaultAdmin"),
    ):
        with pytest.raises(ContractLogicError) as caught:
            factory.constructor(*args).transact({"from": s.admin})
        assert s.chain.decode_revert(caught.value.data).name == error


def test_deployed_code_matches_the_artifact(system: System) -> None:
    """What anvil runs is the artifact's deployed bytecode, apart from immutable slots."""
    s = system
    artifact = s.chain.artifacts["SphinxYieldAggregator"]
    onchain = bytearray(s.chain.w3.eth.get_code(s.vault.address))
    expected = bytearray(bytes.fromhex(artifact.deployed_bytecode[2:]))
    assert len(onchain) == len(expected)
    for refs in artifact.immutable_references.values():
        for ref in refs:
            start, length = ref["start"], ref["length"]
            onchain[start : start + length] = expected[start : start + length]
    assert onchain == expected
