"""Contract tests run on one private anvil (cancun, like our evmVersion) for the session.

The contracts are compiled once (cached in build/), deployed once, and every test runs between an
`evm_snapshot` and an `evm_revert`, so tests never see each other's transactions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from tests.support.anvil import Anvil
from tests.support.chain import ADMIN_DELAY, MAX_UINT, ROOT, UNIT, Chain, System
from tests.support.real_parts import real_part


@pytest.fixture(scope="session")
def artifacts() -> dict:
    from sphinxctl.solidity.compiler import compile_contracts

    return compile_contracts(ROOT, include_tests=True).artifacts


@pytest.fixture(scope="session")
@real_part("anvil")
def anvil() -> Iterator[Anvil]:
    node = Anvil(31337, "--hardfork", "cancun")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def chain(anvil: Anvil, artifacts: dict) -> Chain:
    w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 60}))
    assert w3.is_connected()
    return Chain(w3=w3, artifacts=artifacts)


@pytest.fixture(scope="session")
def system(chain: Chain) -> System:
    accounts = chain.accounts
    admin, operator, minter, treasury = accounts[:4]
    users, outsider = accounts[4:9], accounts[9]
    token = chain.deploy("MockERC20", "Sphinx", "SPX", sender=admin)
    vault = chain.deploy(
        "SphinxYieldAggregator", token.address, treasury, admin, ADMIN_DELAY, sender=admin
    )
    nft = chain.deploy(
        "SpaceFlightNFT",
        token.address,
        treasury,
        admin,
        "ipfs://sphinx/",
        500,
        ADMIN_DELAY,
        sender=admin,
    )
    s1 = chain.deploy("MockStrategy", token.address, vault.address, sender=admin)
    s2 = chain.deploy("MockStrategy", token.address, vault.address, sender=admin)
    chain.tx(vault.functions.grantRole(vault.functions.OPERATOR_ROLE().call(), operator), admin)
    chain.tx(nft.functions.grantRole(nft.functions.MINTER_ROLE().call(), minter), admin)
    for strategy in (s1, s2):
        chain.tx(vault.functions.addStrategy(strategy.address), admin)
    for user in users:
        chain.tx(token.functions.mint(user, 1_000_000 * UNIT), admin)
        chain.tx(token.functions.approve(vault.address, MAX_UINT), user)
        chain.tx(token.functions.approve(nft.address, MAX_UINT), user)
    return System(
        chain, token, vault, nft, s1, s2, admin, operator, minter, treasury, users, outsider
    )


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the chain starts from the freshly deployed state."""
    if "system" not in request.fixturenames:
        yield
        return
    system: System = request.getfixturevalue("system")
    snapshot = system.chain.snapshot()
    try:
        yield
    finally:
        system.chain.revert_to(snapshot)
