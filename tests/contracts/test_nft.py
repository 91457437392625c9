"""SpaceFlightNFT on anvil: phi bounds, paid and role-gated mints, pause, ERC-165, royalties,
rarity proofs and events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from tests.support.chain import ADMIN_DELAY, MAX_UINT, ROLE_IDS, UNIT, ZERO, System, interface_id

pytestmark = pytest.mark.integration

FEES = [10 * UNIT, 20 * UNIT, 40 * UNIT, 80 * UNIT, 160 * UNIT]


def _mint_to(s: System, to: str, score: int) -> int:
    receipt = s.chain.tx(s.nft.functions.mintTo(to, score), s.minter)
    return int(s.chain.events(s.nft, "Minted", receipt)[0]["tokenId"])


# ------------------------------------------------------------------ phi bounds and tiers


@pytest.mark.parametrize(("score", "tier"), [(199, None), (200, 0), (1000, 4), (1001, None)])
def test_phi_bounds_on_role_gated_and_paid_mint(
    system: System, score: int, tier: int | None
) -> None:
    s, user = system, system.users[0]
    for sender, call in (
        (s.minter, s.nft.functions.mintTo(user, score)),
        (user, s.nft.functions.mint(score, ZERO, MAX_UINT)),
    ):
        if tier is None:
            revert = s.chain.reverts(call, sender)
            assert (revert.name, revert.args) == ("PhiScoreOutOfBounds", (score, 200, 1000))
        else:
            receipt = s.chain.tx(call, sender)
            token_id = s.chain.events(s.nft, "Minted", receipt)[0]["tokenId"]
            assert s.nft.functions.phiScore(token_id).call() == score
            assert s.nft.functions.rarityTier(token_id).call() == tier


def test_admin_can_move_phi_bounds_within_hard_limits(system: System) -> None:
    s = system
    receipt = s.chain.tx(s.nft.functions.setPhiBounds(150, 1200), s.admin)
    assert s.chain.events(s.nft, "PhiBoundsUpdated", receipt) == [
        {"minScore": 150, "maxScore": 1200}
    ]
    _mint_to(s, s.users[0], 199)
    _mint_to(s, s.users[0], 1001)
    for low, high in ((99, 1000), (200, 2001), (500, 500), (600, 500)):
        revert = s.chain.reverts(s.nft.functions.setPhiBounds(low, high), s.admin)
        assert (revert.name, revert.args) == ("InvalidPhiBounds", (low, high))


@pytest.mark.parametrize(
    ("score", "tier"),
    [(200, 0), (399, 0), (400, 1), (599, 1), (600, 2), (799, 2), (800, 3), (949, 3), (950, 4)],
)
def test_rarity_tier_thresholds(system: System, score: int, tier: int) -> None:
    assert system.nft.functions.tierForScore(score).call() == tier


def test_views_of_a_missing_token_revert(system: System) -> None:
    s = system
    for call in (s.nft.functions.phiScore(99), s.nft.functions.rarityTier(99)):
        revert = s.chain.reverts(call, s.outsider)
        assert (revert.name, revert.args) == ("ERC721NonexistentToken", (99,))


# ------------------------------------------------------------------ paid mint, fees, referrers


def test_paid_mint_charges_tier_fee_to_treasury_and_emits(system: System) -> None:
    s, user = system, system.users[0]
    before_user = s.token.functions.balanceOf(user).call()
    before_treasury = s.token.functions.balanceOf(s.treasury).call()
    receipt = s.chain.tx(s.nft.functions.mint(820, ZERO, MAX_UINT), user)
    assert s.chain.events(s.nft, "Minted", receipt) == [
        {"tokenId": 1, "to": user, "score": 820, "tier": 3, "fee": FEES[3], "referrer": ZERO}
    ]
    assert s.token.functions.balanceOf(user).call() == before_user - FEES[3]
    assert s.token.functions.balanceOf(s.treasury).call() == before_treasury + FEES[3]
    assert s.nft.functions.ownerOf(1).call() == user
    assert s.nft.functions.totalMinted().call() == 1
    assert s.nft.functions.tokenURI(1).call() == "ipfs://sphinx/1"


def test_referrer_needs_the_referrer_role_and_gets_its_share(system: System) -> None:
    s, user, referrer = system, system.users[0], system.users[1]
    for bad in (referrer, user):
        revert = s.chain.reverts(s.nft.functions.mint(300, bad, MAX_UINT), user)
        assert (revert.name, revert.args) == ("InvalidReferrer", (bad.lower(),))
    s.chain.tx(s.nft.functions.grantRole(ROLE_IDS["REFERRER_ROLE"], referrer), s.admin)
    self_referral = s.nft.functions.mint(300, user, MAX_UINT)
    assert s.chain.reverts(self_referral, user).name == "InvalidReferrer"
    before_ref = s.token.functions.balanceOf(referrer).call()
    before_treasury = s.token.functions.balanceOf(s.treasury).call()
    s.chain.tx(s.nft.functions.mint(300, referrer, MAX_UINT), user)
    share = FEES[0] * 500 // 10_000
    assert s.token.functions.balanceOf(referrer).call() - before_ref == share
    assert s.token.functions.balanceOf(s.treasury).call() - before_treasury == FEES[0] - share
    # a referrer cannot be referred (two referrer addresses of one person cannot pay each other)
    s.chain.tx(s.nft.functions.grantRole(ROLE_IDS["REFERRER_ROLE"], user), s.admin)
    revert = s.chain.reverts(s.nft.functions.mint(300, referrer, MAX_UINT), user)
    assert (revert.name, revert.args) == ("InvalidReferrer", (referrer.lower(),))


def test_mint_refuses_a_fee_above_the_callers_maximum(system: System) -> None:
    s, user = system, system.users[0]
    s.chain.tx(s.nft.functions.setMintFee(0, FEES[0] * 3), s.admin)  # changed while in flight
    revert = s.chain.reverts(s.nft.functions.mint(300, ZERO, FEES[0]), user)
    assert (revert.name, revert.args) == ("FeeAboveMax", (FEES[0] * 3, FEES[0]))


def test_fee_and_referral_setters_validate_and_emit(system: System) -> None:
    s = system
    receipt = s.chain.tx(s.nft.functions.setMintFee(4, 1), s.admin)
    assert s.chain.events(s.nft, "MintFeeUpdated", receipt) == [{"tier": 4, "fee": 1}]
    assert s.nft.functions.mintFee(4).call() == 1
    assert s.chain.reverts(s.nft.functions.setMintFee(5, 1), s.admin).name == "InvalidTier"
    assert s.chain.reverts(s.nft.functions.setReferralBps(2001), s.admin).name == "ReferralTooHigh"
    receipt = s.chain.tx(s.nft.functions.setReferralBps(2000), s.admin)
    assert s.chain.events(s.nft, "ReferralBpsUpdated", receipt) == [{"bps": 2000}]
    assert s.chain.reverts(s.nft.functions.setTreasury(ZERO), s.admin).name == "ZeroAddress"
    receipt = s.chain.tx(s.nft.functions.setBaseURI("ar://x/"), s.admin)
    assert s.chain.events(s.nft, "BaseURIUpdated", receipt) == [{"baseURI": "ar://x/"}]


def test_paid_mint_without_allowance_reverts(system: System) -> None:
    s = system
    assert (
        s.chain.reverts(s.nft.functions.mint(500, ZERO, MAX_UINT), s.outsider).name
        == "ERC20InsufficientAllowance"
    )


# ------------------------------------------------------------------ pause


PAUSE_BLOCKS: dict[str, Callable[[System, int], tuple[str, Any]]] = {
    "mint": lambda s, t: (s.users[1], s.nft.functions.mint(500, ZERO, MAX_UINT)),
    "mintTo": lambda s, t: (s.minter, s.nft.functions.mintTo(s.users[1], 500)),
    "transferFrom": lambda s, t: (
        s.users[0],
        s.nft.functions.transferFrom(s.users[0], s.users[1], t),
    ),
    "safeTransferFrom": lambda s, t: (
        s.users[0],
        s.nft.functions.safeTransferFrom(s.users[0], s.users[1], t),
    ),
    "pause": lambda s, t: (s.admin, s.nft.functions.pause()),
}
PAUSE_ALLOWS: dict[str, Callable[[System, int], tuple[str, Any]]] = {
    "approve": lambda s, t: (s.users[0], s.nft.functions.approve(s.users[1], t)),
    "setApprovalForAll": lambda s, t: (
        s.users[0],
        s.nft.functions.setApprovalForAll(s.users[1], True),
    ),
    "unpause": lambda s, t: (s.admin, s.nft.functions.unpause()),
    "setTreasury": lambda s, t: (s.admin, s.nft.functions.setTreasury(s.users[2])),
    "setMintFee": lambda s, t: (s.admin, s.nft.functions.setMintFee(0, 1)),
    "setReferralBps": lambda s, t: (s.admin, s.nft.functions.setReferralBps(100)),
    "setPhiBounds": lambda s, t: (s.admin, s.nft.functions.setPhiBounds(300, 900)),
    "setBaseURI": lambda s, t: (s.admin, s.nft.functions.setBaseURI("x/")),
    "setDefaultRoyalty": lambda s, t: (s.admin, s.nft.functions.setDefaultRoyalty(s.users[2], 100)),
    "setRarityRoot": lambda s, t: (s.admin, s.nft.functions.setRarityRoot(b"\x02" * 32)),
    "grantRole": lambda s, t: (
        s.admin,
        s.nft.functions.grantRole(ROLE_IDS["MINTER_ROLE"], s.users[2]),
    ),
    "revokeRole": lambda s, t: (
        s.admin,
        s.nft.functions.revokeRole(ROLE_IDS["MINTER_ROLE"], s.minter),
    ),
    "renounceRole": lambda s, t: (
        s.minter,
        s.nft.functions.renounceRole(ROLE_IDS["MINTER_ROLE"], s.minter),
    ),
    "beginDefaultAdminTransfer": lambda s, t: (
        s.admin,
        s.nft.functions.beginDefaultAdminTransfer(s.users[2]),
    ),
    "cancelDefaultAdminTransfer": lambda s, t: (
        s.admin,
        s.nft.functions.cancelDefaultAdminTransfer(),
    ),
    "changeDefaultAdminDelay": lambda s, t: (s.admin, s.nft.functions.changeDefaultAdminDelay(60)),
    "rollbackDefaultAdminDelay": lambda s, t: (
        s.admin,
        s.nft.functions.rollbackDefaultAdminDelay(),
    ),
    "acceptDefaultAdminTransfer": lambda s, t: (s.admin, _pending_to_admin(s)),
}


def _pending_to_admin(s: System) -> Any:
    """Starts a transfer to the admin itself and waits out the delay, so it can accept."""
    s.chain.tx(s.nft.functions.beginDefaultAdminTransfer(s.admin), s.admin)
    s.chain.increase_time(ADMIN_DELAY + 1)
    return s.nft.functions.acceptDefaultAdminTransfer()


def test_pause_classification_covers_every_state_changing_function(artifacts: dict) -> None:
    abi = artifacts["SpaceFlightNFT"].abi
    mutating = {
        i["name"]
        for i in abi
        if i["type"] == "function" and i["stateMutability"] not in ("view", "pure")
    }
    assert mutating == set(PAUSE_BLOCKS) | set(PAUSE_ALLOWS)


@pytest.mark.parametrize("function", sorted(PAUSE_BLOCKS))
def test_pause_blocks(system: System, function: str) -> None:
    token_id = _mint_to(system, system.users[0], 500)
    system.chain.tx(system.nft.functions.pause(), system.admin)
    sender, call = PAUSE_BLOCKS[function](system, token_id)
    assert system.chain.reverts(call, sender).name == "EnforcedPause"


@pytest.mark.parametrize("function", sorted(PAUSE_ALLOWS))
def test_pause_allows(system: System, function: str) -> None:
    token_id = _mint_to(system, system.users[0], 500)
    system.chain.tx(system.nft.functions.pause(), system.admin)
    sender, call = PAUSE_ALLOWS[function](system, token_id)
    system.chain.tx(call, sender)


def test_transfers_work_again_after_unpause(system: System) -> None:
    s = system
    token_id = _mint_to(s, s.users[0], 500)
    s.chain.tx(s.nft.functions.pause(), s.admin)
    s.chain.tx(s.nft.functions.unpause(), s.admin)
    s.chain.tx(s.nft.functions.transferFrom(s.users[0], s.users[1], token_id), s.users[0])
    assert s.nft.functions.ownerOf(token_id).call() == s.users[1]


# ------------------------------------------------------------------ ERC-165 and royalties

IERC165 = interface_id("supportsInterface(bytes4)")
IERC721 = interface_id(
    "balanceOf(address)", "ownerOf(uint256)", "safeTransferFrom(address,address,uint256,bytes)",
    "safeTransferFrom(address,address,uint256)", "transferFrom(address,address,uint256)",
    "approve(address,uint256)", "setApprovalForAll(address,bool)", "getApproved(uint256)",
    "isApprovedForAll(address,address)",
)  # fmt: skip
IERC721_METADATA = interface_id("name()", "symbol()", "tokenURI(uint256)")
IERC2981 = interface_id("royaltyInfo(uint256,uint256)")
IACCESS_CONTROL = interface_id(
    "hasRole(bytes32,address)", "getRoleAdmin(bytes32)", "grantRole(bytes32,address)",
    "revokeRole(bytes32,address)", "renounceRole(bytes32,address)",
)  # fmt: skip


def test_interface_ids_match_the_published_constants() -> None:
    ids = [IERC165, IERC721, IERC721_METADATA, IERC2981, IACCESS_CONTROL]
    assert [i.hex() for i in ids] == ["01ffc9a7", "80ac58cd", "5b5e139f", "2a55205a", "7965db0b"]


@pytest.mark.parametrize(
    ("interface", "supported"),
    [
        (IERC165, True),
        (IERC721, True),
        (IERC721_METADATA, True),
        (IERC2981, True),
        (IACCESS_CONTROL, True),
        (bytes.fromhex("780e9d63"), False),  # ERC-721 enumerable
        (bytes.fromhex("d9b67a26"), False),  # ERC-1155
        (bytes.fromhex("ffffffff"), False),  # never valid (ERC-165)
    ],
)
def test_supports_interface(system: System, interface: bytes, supported: bool) -> None:
    assert system.nft.functions.supportsInterface(interface).call() is supported


@pytest.mark.parametrize("price", [0, 1, 19, 20, 9_999, 10_000, 123_456_789 * UNIT, 2**200])
def test_royalty_math(system: System, price: int) -> None:
    s = system
    token_id = _mint_to(s, s.users[0], 500)
    assert s.nft.functions.royaltyInfo(token_id, price).call() == [
        s.treasury,
        price * 500 // 10_000,
    ]
    receipt = s.chain.tx(s.nft.functions.setDefaultRoyalty(s.users[3], 1000), s.admin)
    assert s.chain.events(s.nft, "RoyaltyUpdated", receipt) == [
        {"receiver": s.users[3], "bps": 1000}
    ]
    assert s.nft.functions.royaltyInfo(token_id, price).call() == [
        s.users[3],
        price * 1000 // 10_000,
    ]


def test_royalty_cap_and_receiver_checks(system: System) -> None:
    s = system
    revert = s.chain.reverts(s.nft.functions.setDefaultRoyalty(s.users[3], 1001), s.admin)
    assert (revert.name, revert.args) == ("RoyaltyTooHigh", (1001,))
    assert s.chain.reverts(s.nft.functions.setDefaultRoyalty(ZERO, 100), s.admin).name == (
        "ERC2981InvalidDefaultRoyaltyReceiver"
    )


# ------------------------------------------------------------------ rarity proofs


def _leaf(token_id: int, score: int, rank: int) -> bytes:
    return keccak(keccak(encode(["uint256", "uint16", "uint256"], [token_id, score, rank])))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def _tree(leaves: list[bytes]) -> tuple[bytes, Callable[[int], list[bytes]]]:
    """Root and a proof builder of a sorted-pair Merkle tree (odd nodes move up unchanged)."""
    layers = [leaves]
    while len(layers[-1]) > 1:
        layer = layers[-1]
        layers.append([_pair(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i]
                       for i in range(0, len(layer), 2)])  # fmt: skip

    def proof(index: int) -> list[bytes]:
        path = []
        for layer in layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                path.append(layer[sibling])
            index //= 2
        return path

    return layers[-1][0], proof


def test_rarity_proofs_verify_against_the_published_root(system: System) -> None:
    s = system
    snapshot = [(1, 950, 1), (2, 700, 2), (3, 420, 3), (4, 300, 4), (5, 250, 5)]
    root, proof = _tree([_leaf(*entry) for entry in snapshot])
    assert not s.nft.functions.verifyRarity(1, 950, 1, proof(0)).call()  # no root yet
    receipt = s.chain.tx(s.nft.functions.setRarityRoot(root), s.admin)
    assert s.chain.events(s.nft, "RarityRootUpdated", receipt) == [
        {"oldRoot": b"\x00" * 32, "newRoot": root}
    ]
    assert s.nft.functions.rarityRoot().call() == root
    for index, entry in enumerate(snapshot):
        assert s.nft.functions.verifyRarity(*entry, proof(index)).call()
    assert not s.nft.functions.verifyRarity(1, 951, 1, proof(0)).call()  # wrong score
    assert not s.nft.functions.verifyRarity(1, 950, 2, proof(0)).call()  # wrong rank
    assert not s.nft.functions.verifyRarity(2, 700, 2, proof(0)).call()  # someone else's proof
    s.chain.tx(s.nft.functions.setRarityRoot(b"\x00" * 31 + b"\x01"), s.admin)
    assert not s.nft.functions.verifyRarity(1, 950, 1, proof(0)).call()  # superseded root


# ------------------------------------------------------------------ deployment checks


def test_constructor_rejects_bad_arguments(system: System) -> None:
    s = system
    from web3.exceptions import ContractLogicError

    artifact = s.chain.artifacts["SpaceFlightNFT"]
    factory = s.chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    for args, error in (
        ((s.token.address, s.treasury, s.admin, "u/", 1001, 60), "RoyaltyTooHigh"),
        ((s.users[0], s.treasury, s.admin, "u/", 100, 60), "ZeroAddress"),  # token without code
        ((s.token.address, ZERO, s.admin, "u/", 100, 60), "ZeroAddress"),
        ((s.token.address, s.treasury, ZERO, "u/", 100, 60), "AccessControlInvalidDefaultAdmin"),
    ):
        with pytest.raises(ContractLogicError) as caught:
            factory.constructor(*args).transact({"from": s.admin})
        assert s.chain.decode_revert(caught.value.data).name == error
