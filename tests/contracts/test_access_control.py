"""Every privileged function rejects callers without its role with AccessControlUnauthorizedAccount.

The privileged set is derived from the ABI: every non-view function minus an explicit list of
functions open to users. A function added to a contract without a case here fails
`test_every_privileged_function_has_a_case`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.chain import ROLE_IDS, UNIT, System

pytestmark = pytest.mark.integration

USER_FUNCTIONS = {
    "SphinxYieldAggregator": {
        "deposit", "mint", "withdraw", "redeem", "approve", "transfer", "transferFrom",
        "renounceRole", "acceptDefaultAdminTransfer", "claimFees",  # claimFees: treasury only
    },
    "SpaceFlightNFT": {
        "mint", "approve", "setApprovalForAll", "transferFrom", "safeTransferFrom", "renounceRole",
        "acceptDefaultAdminTransfer",
    },
}  # fmt: skip
DEFAULT_ADMIN_CASES = {
    "beginDefaultAdminTransfer": lambda s: (s.users[0],),
    "cancelDefaultAdminTransfer": lambda s: (),
    "changeDefaultAdminDelay": lambda s: (7200,),
    "rollbackDefaultAdminDelay": lambda s: (),
}


@dataclass
class Case:
    """A privileged call: which role it needs, its arguments, and state it needs first."""

    role: str
    args: Callable[[System], tuple[Any, ...]]
    prepare: Callable[[System], None] | None = None


def _pause(contract: str) -> Callable[[System], None]:
    def prepare(s: System) -> None:
        target = s.vault if contract == "vault" else s.nft
        s.chain.tx(target.functions.pause(), s.admin)

    return prepare


def _new_strategy(s: System) -> tuple[Any, ...]:
    strategy = s.chain.deploy("MockStrategy", s.token.address, s.vault.address, sender=s.admin)
    return (strategy.address,)


def _stray_token(s: System) -> tuple[Any, ...]:
    other = s.chain.deploy("MockERC20", "Stray", "STR", sender=s.admin)
    s.chain.tx(other.functions.mint(s.vault.address, 5 * UNIT), s.admin)
    return (other.address, s.admin)


VAULT_CASES: dict[str, Case] = {
    "pause": Case("GUARDIAN_ROLE", lambda s: ()),
    "unpause": Case("ADMIN_ROLE", lambda s: (), prepare=_pause("vault")),
    "forceRemoveStrategy": Case("ADMIN_ROLE", lambda s: (s.s2.address,)),
    "setProfitUnlockTime": Case("ADMIN_ROLE", lambda s: (3600,)),
    "sweep": Case("ADMIN_ROLE", _stray_token),
    "activateEmergencyShutdown": Case("ADMIN_ROLE", lambda s: ()),
    "addStrategy": Case("ADMIN_ROLE", _new_strategy),
    "retireStrategy": Case("ADMIN_ROLE", lambda s: (s.s1.address,)),
    "setTreasury": Case("ADMIN_ROLE", lambda s: (s.users[0],)),
    "setTreasuryFeeBps": Case("ADMIN_ROLE", lambda s: (500,)),
    "harvest": Case("OPERATOR_ROLE", lambda s: (s.s1.address,)),
    "rebalance": Case("OPERATOR_ROLE", lambda s: (s.s1.address, 0)),
    "grantRole": Case("DEFAULT_ADMIN_ROLE", lambda s: (ROLE_IDS["OPERATOR_ROLE"], s.users[0])),
    "revokeRole": Case("DEFAULT_ADMIN_ROLE", lambda s: (ROLE_IDS["OPERATOR_ROLE"], s.operator)),
    **{name: Case("DEFAULT_ADMIN_ROLE", args) for name, args in DEFAULT_ADMIN_CASES.items()},
}

NFT_CASES: dict[str, Case] = {
    "pause": Case("GUARDIAN_ROLE", lambda s: ()),
    "unpause": Case("ADMIN_ROLE", lambda s: (), prepare=_pause("nft")),
    "setTreasury": Case("ADMIN_ROLE", lambda s: (s.users[0],)),
    "setMintFee": Case("ADMIN_ROLE", lambda s: (2, 1 * UNIT)),
    "setReferralBps": Case("ADMIN_ROLE", lambda s: (300,)),
    "setPhiBounds": Case("ADMIN_ROLE", lambda s: (150, 1200)),
    "setBaseURI": Case("ADMIN_ROLE", lambda s: ("ipfs://other/",)),
    "setDefaultRoyalty": Case("ADMIN_ROLE", lambda s: (s.treasury, 250)),
    "setRarityRoot": Case("ADMIN_ROLE", lambda s: (b"\x11" * 32,)),
    "mintTo": Case("MINTER_ROLE", lambda s: (s.users[0], 500)),
    "grantRole": Case("DEFAULT_ADMIN_ROLE", lambda s: (ROLE_IDS["MINTER_ROLE"], s.users[0])),
    "revokeRole": Case("DEFAULT_ADMIN_ROLE", lambda s: (ROLE_IDS["MINTER_ROLE"], s.minter)),
    **{name: Case("DEFAULT_ADMIN_ROLE", args) for name, args in DEFAULT_ADMIN_CASES.items()},
}

CASES = {"SphinxYieldAggregator": VAULT_CASES, "SpaceFlightNFT": NFT_CASES}
ALL = [(contract, name) for contract, cases in CASES.items() for name in sorted(cases)]


def privileged_functions(abi: list[dict[str, Any]], contract: str) -> set[str]:
    mutating = {
        item["name"]
        for item in abi
        if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")
    }
    return mutating - USER_FUNCTIONS[contract]


@pytest.mark.parametrize("contract", sorted(CASES))
def test_every_privileged_function_has_a_case(artifacts: dict, contract: str) -> None:
    derived = privileged_functions(artifacts[contract].abi, contract)
    assert derived == set(CASES[contract]), (
        f"untested privileged functions: {sorted(derived - set(CASES[contract]))}; "
        f"cases for functions that are gone: {sorted(set(CASES[contract]) - derived)}"
    )


def _target(system: System, contract: str) -> Any:
    return system.vault if contract == "SphinxYieldAggregator" else system.nft


@pytest.mark.parametrize(("contract", "function"), ALL)
def test_caller_without_role_is_rejected(system: System, contract: str, function: str) -> None:
    case = CASES[contract][function]
    if case.prepare:
        case.prepare(system)
    call = getattr(_target(system, contract).functions, function)(*case.args(system))
    for caller in (system.outsider, system.users[0]):
        revert = system.chain.reverts(call, caller)
        assert revert.name == "AccessControlUnauthorizedAccount"
        assert revert.args == (caller.lower(), ROLE_IDS[case.role])


@pytest.mark.parametrize(("contract", "function"), ALL)
def test_role_holder_can_call(system: System, contract: str, function: str) -> None:
    case = CASES[contract][function]
    if case.prepare:
        case.prepare(system)
    holder = {
        "DEFAULT_ADMIN_ROLE": system.admin,
        "ADMIN_ROLE": system.admin,
        "OPERATOR_ROLE": system.operator,
        "MINTER_ROLE": system.minter,
        "GUARDIAN_ROLE": system.admin,  # ADMIN_ROLE may pause too
    }[case.role]
    call = getattr(_target(system, contract).functions, function)(*case.args(system))
    system.chain.tx(call, holder)


def test_operator_role_does_not_grant_admin_powers(system: System) -> None:
    revert = system.chain.reverts(system.vault.functions.unpause(), system.operator)
    assert revert.args == (system.operator.lower(), ROLE_IDS["ADMIN_ROLE"])
    revert = system.chain.reverts(system.nft.functions.setRarityRoot(b"\x01" * 32), system.minter)
    assert revert.args == (system.minter.lower(), ROLE_IDS["ADMIN_ROLE"])


def test_constructor_grants_admin_roles_and_role_constants_match(system: System) -> None:
    for contract in (system.vault, system.nft):
        assert contract.functions.hasRole(ROLE_IDS["DEFAULT_ADMIN_ROLE"], system.admin).call()
        assert contract.functions.hasRole(ROLE_IDS["ADMIN_ROLE"], system.admin).call()
        assert contract.functions.ADMIN_ROLE().call() == ROLE_IDS["ADMIN_ROLE"]
    assert system.vault.functions.OPERATOR_ROLE().call() == ROLE_IDS["OPERATOR_ROLE"]
    assert system.nft.functions.MINTER_ROLE().call() == ROLE_IDS["MINTER_ROLE"]
    assert not system.vault.functions.hasRole(ROLE_IDS["OPERATOR_ROLE"], system.admin).call()
