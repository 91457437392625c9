// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SpaceFlightNFT} from "../../contracts/SpaceFlightNFT.sol";
import {Base} from "./Base.sol";

/// @notice Every path of SpaceFlightNFT (the coverage bar is 95 % of lines, 90 % of branches).
contract NftUnitTest is Base {
    function _pay(address who, uint256 amount) internal {
        token.mint(who, amount);
        VM.prank(who);
        token.approve(address(nft), amount);
    }

    function test_constructorRejectsBadArguments() public {
        VM.expectRevert(SpaceFlightNFT.ZeroAddress.selector);
        new SpaceFlightNFT(address(0x1234), treasury, admin, "", 0, 0);
        VM.expectRevert(SpaceFlightNFT.ZeroAddress.selector);
        new SpaceFlightNFT(address(token), address(0), admin, "", 0, 0);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.RoyaltyTooHigh.selector, 1001));
        new SpaceFlightNFT(address(token), treasury, admin, "", 1001, 0);
    }

    function test_paidMintChargesTheTierFeeAndRecordsTheToken() public {
        _pay(alice, 160 * UNIT);
        VM.prank(alice, alice);
        uint256 id = nft.mint(990, address(0), 160 * UNIT);
        require(id == 1 && nft.ownerOf(1) == alice && nft.totalMinted() == 1, "not minted");
        require(nft.phiScore(1) == 990 && nft.rarityTier(1) == 4, "score not recorded");
        require(token.balanceOf(treasury) == 160 * UNIT, "fee not paid");
        require(keccak256(bytes(nft.tokenURI(1))) == keccak256("ipfs://x/1"), "uri");
    }

    function test_mintRejectsScoresOutsideTheBounds() public {
        _pay(alice, 100 * UNIT);
        VM.startPrank(alice);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.PhiScoreOutOfBounds.selector, 199, 200, 1000));
        nft.mint(199, address(0), 100 * UNIT);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.PhiScoreOutOfBounds.selector, 1001, 200, 1000));
        nft.mint(1001, address(0), 100 * UNIT);
        VM.stopPrank();
    }

    function test_referrerWithoutRoleIsRefused() public {
        _pay(alice, 10 * UNIT);
        VM.prank(alice, alice);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidReferrer.selector, bob));
        nft.mint(300, bob, 10 * UNIT);
        VM.startPrank(admin);
        nft.grantRole(nft.REFERRER_ROLE(), alice);
        VM.stopPrank();
        VM.prank(alice, alice);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidReferrer.selector, alice));
        nft.mint(300, alice, 10 * UNIT);
    }

    function test_freeTierAndZeroReferralMoveNoTokens() public {
        VM.startPrank(admin);
        nft.setMintFee(0, 0);
        nft.setReferralBps(0);
        nft.grantRole(nft.REFERRER_ROLE(), carol);
        VM.stopPrank();
        VM.prank(alice, alice);
        nft.mint(300, carol, 0);
        require(nft.ownerOf(1) == alice && token.balanceOf(carol) == 0, "free mint");
    }

    function test_minterMintsForFree() public {
        VM.startPrank(admin);
        nft.grantRole(nft.MINTER_ROLE(), operator);
        VM.stopPrank();
        VM.prank(operator);
        uint256 id = nft.mintTo(bob, 500);
        require(nft.ownerOf(id) == bob && nft.rarityTier(id) == 1, "minted");
    }

    function test_pauseStopsMintsAndTransfers() public {
        VM.prank(admin);
        nft.setMintFee(0, 0);
        VM.prank(alice, alice);
        nft.mint(300, address(0), 0);
        VM.prank(guardian);
        nft.pause();
        VM.prank(alice);
        VM.expectRevert(Pausable.EnforcedPause.selector);
        nft.transferFrom(alice, bob, 1);
        VM.prank(alice, alice);
        VM.expectRevert(Pausable.EnforcedPause.selector);
        nft.mint(300, address(0), 0);
        VM.prank(admin);
        nft.unpause();
        VM.prank(alice);
        nft.transferFrom(alice, bob, 1);
        require(nft.ownerOf(1) == bob, "transfer after unpause");
    }

    function test_adminSettersValidateTheirInput() public {
        VM.startPrank(admin);
        VM.expectRevert(SpaceFlightNFT.ZeroAddress.selector);
        nft.setTreasury(address(0));
        nft.setTreasury(carol);
        require(nft.treasury() == carol, "treasury");
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidTier.selector, 5));
        nft.setMintFee(5, 1);
        nft.setMintFee(4, 1);
        require(nft.mintFee(4) == 1, "fee");
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.ReferralTooHigh.selector, 2001));
        nft.setReferralBps(2001);
        nft.setReferralBps(2000);
        require(nft.referralBps() == 2000, "referral");
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidPhiBounds.selector, 99, 500));
        nft.setPhiBounds(99, 500);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidPhiBounds.selector, 100, 2001));
        nft.setPhiBounds(100, 2001);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidPhiBounds.selector, 500, 500));
        nft.setPhiBounds(500, 500);
        nft.setPhiBounds(100, 2000);
        require(nft.minPhiScore() == 100 && nft.maxPhiScore() == 2000, "bounds");
        nft.setBaseURI("ipfs://y/");
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.RoyaltyTooHigh.selector, 1001));
        nft.setDefaultRoyalty(carol, 1001);
        nft.setDefaultRoyalty(carol, 250);
        (address receiver, uint256 royalty) = nft.royaltyInfo(1, 10_000);
        require(receiver == carol && royalty == 250, "royalty");
        VM.stopPrank();
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidTier.selector, 5));
        nft.mintFee(5);
    }

    function test_tiersFollowTheScore() public view {
        require(nft.tierForScore(399) == 0 && nft.tierForScore(400) == 1, "tier 0/1");
        require(nft.tierForScore(600) == 2 && nft.tierForScore(800) == 3, "tier 2/3");
        require(nft.tierForScore(949) == 3 && nft.tierForScore(950) == 4, "tier 3/4");
        require(nft.paymentToken() == address(token), "payment token");
    }

    function test_rarityProofsCheckAgainstThePublishedRoot() public {
        bytes32[] memory proof = new bytes32[](1);
        bytes32 leafA = keccak256(bytes.concat(keccak256(abi.encode(uint256(1), uint16(500), uint256(2)))));
        bytes32 leafB = keccak256(bytes.concat(keccak256(abi.encode(uint256(2), uint16(900), uint256(1)))));
        proof[0] = leafB;
        bytes32 root = leafA < leafB ? keccak256(abi.encode(leafA, leafB)) : keccak256(abi.encode(leafB, leafA));
        require(!nft.verifyRarity(1, 500, 2, proof), "valid before a root");
        VM.prank(admin);
        nft.setRarityRoot(root);
        require(nft.verifyRarity(1, 500, 2, proof), "valid proof refused");
        require(!nft.verifyRarity(1, 501, 2, proof), "forged proof accepted");
    }

    function test_interfacesAndUnknownTokens() public {
        require(nft.supportsInterface(type(IERC165).interfaceId), "erc165");
        require(nft.supportsInterface(0x80ac58cd) && nft.supportsInterface(0x2a55205a), "721/2981");
        require(!nft.supportsInterface(0xffffffff), "bogus id");
        VM.expectRevert();
        nft.phiScore(7);
        VM.expectRevert();
        nft.rarityTier(7);
    }

    function test_rolesMoveOnlyThroughTheDefaultAdmin() public {
        VM.startPrank(admin);
        nft.grantRole(nft.MINTER_ROLE(), bob);
        nft.revokeRole(nft.MINTER_ROLE(), bob);
        require(!nft.hasRole(nft.MINTER_ROLE(), bob), "revoked");
        nft.grantRole(nft.MINTER_ROLE(), bob);
        VM.stopPrank();
        bytes32 minterRole = nft.MINTER_ROLE();
        VM.prank(bob);
        nft.renounceRole(minterRole, bob);
        require(!nft.hasRole(minterRole, bob), "renounced");
    }
}
