// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IAccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {SphinxYieldAggregator} from "../../contracts/SphinxYieldAggregator.sol";
import {SpaceFlightNFT} from "../../contracts/SpaceFlightNFT.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {Base} from "./Base.sol";

/// @notice Calls the NFT's mint on behalf of whoever calls it (a second address of the minter).
contract MintProxy {
    /// @notice Forwards a paid mint.
    function mintVia(SpaceFlightNFT nft, uint16 score, address referrer, uint256 maxFee) external {
        nft.mint(score, referrer, maxFee);
    }

    /// @notice Accepts the minted token (so only the referral rule can refuse the mint).
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC721Received.selector;
    }
}

/// @notice One named test per finding of the review (issue 13); each fails on the old contract.
contract RegressionTest is Base {
    function test_lossIsSharedProRataNotFirstComeFirstServed() public {
        _deposit(alice, 100 * UNIT);
        _deposit(bob, 100 * UNIT);
        _rebalance(s1, 200 * UNIT);
        token.burn(address(s1), 20 * UNIT); // the strategy loses 20, nobody has harvested yet
        _later(61);
        uint256 first = _redeemAll(alice);
        uint256 second = _redeemAll(bob);
        _eq(first, 90 * UNIT, 1, "first out takes more than its share");
        _eq(second, 90 * UNIT, 1, "last out is short");
    }

    function test_lossIsSharedAfterHarvestAndShutdown() public {
        _deposit(alice, 100 * UNIT);
        _deposit(bob, 300 * UNIT);
        _rebalance(s1, 400 * UNIT);
        token.burn(address(s1), 40 * UNIT);
        _harvest(s1);
        VM.prank(admin);
        vault.activateEmergencyShutdown();
        _eq(_redeemAll(bob), 270 * UNIT, 1, "bob does not bear 10%");
        _eq(_redeemAll(alice), 90 * UNIT, 1, "alice does not bear 10%");
    }

    function test_writtenOffDipRecoveredIsNotProfit() public {
        _deposit(alice, 1000 * UNIT);
        _rebalance(s1, 1000 * UNIT);
        token.burn(address(s1), 100 * UNIT);
        _harvest(s1); // the dip is written off and booked
        require(vault.strategyLoss(address(s1)) == 100 * UNIT, "loss not booked");
        token.mint(address(s1), 100 * UNIT); // the price recovers
        _harvest(s1);
        require(vault.feesAccrued() == 0, "fee taken on recovered principal");
        require(vault.strategyLoss(address(s1)) == 0, "booked loss not repaid");
        _later(vault.profitUnlockTime());
        _eq(_redeemAll(alice), 1000 * UNIT, 1, "recovery not returned to the holder");
        require(token.balanceOf(address(vault)) >= vault.feesAccrued(), "vault ends short");
    }

    function test_depositJustBeforeHarvestTakesNoEarlierYield() public {
        _deposit(alice, 1000 * UNIT);
        _rebalance(s1, 1000 * UNIT);
        _later(30 days);
        token.mint(address(s1), 100 * UNIT); // a month of yield
        _deposit(bob, 1000 * UNIT); // timed just before the operator's harvest
        _harvest(s1);
        _later(61);
        uint256 bobOut = _redeemAll(bob);
        require(bobOut <= 1000 * UNIT + UNIT / 100, "timed deposit took earlier yield");
        _later(vault.profitUnlockTime());
        _eq(_redeemAll(alice), 1090 * UNIT, UNIT / 100, "long-term holder lost yield");
    }

    function test_tinySupplyAndHugeDonationCannotOverflowOrLockExits() public {
        token.mint(alice, 1);
        VM.startPrank(alice);
        token.approve(address(vault), 1);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.FirstDepositTooSmall.selector, 1));
        vault.deposit(1, alice);
        VM.stopPrank();
        _deposit(alice, vault.MIN_FIRST_DEPOSIT());
        token.mint(address(s1), 1e30); // a donation to a strategy
        _harvest(s1);
        _later(vault.profitUnlockTime());
        _deposit(bob, 1000 * UNIT);
        _later(61);
        uint256 bobOut = _redeemAll(bob);
        // One share is now worth ~1e18: rounding costs bob at most that (the donor paid 1e30).
        _eq(bobOut, 1000 * UNIT, 2 * UNIT, "normal position cannot exit at its value");
        require(_redeemAll(alice) > 0, "first depositor cannot exit");
    }

    function test_harvestProfitIsCappedAtAssetsMinusDebt() public {
        _deposit(alice, 1000 * UNIT);
        _rebalance(s1, 1000 * UNIT);
        token.mint(address(s1), 100 * UNIT);
        s1.setOverpay(true); // returns its principal along with the gain
        _harvest(s1);
        require(vault.feesAccrued() == 10 * UNIT, "fee charged beyond assets - debt");
        require(vault.strategyDebt(address(s1)) == 0, "returned principal not repaid");
        _later(vault.profitUnlockTime());
        _eq(_redeemAll(alice), 1090 * UNIT, 1, "principal paid out as profit");
    }

    function test_treasuryThatCannotReceiveDoesNotBlockShutdown() public {
        _deposit(alice, 1000 * UNIT);
        _rebalance(s1, 1000 * UNIT);
        token.mint(address(s1), 100 * UNIT);
        token.setBlocked(treasury, true);
        _harvest(s1);
        VM.prank(admin);
        vault.activateEmergencyShutdown();
        require(vault.emergencyShutdown(), "shutdown blocked");
        _eq(_redeemAll(alice), 1090 * UNIT, 1, "holder not paid after shutdown");
        VM.prank(treasury);
        VM.expectRevert(abi.encodeWithSelector(MockERC20.Blocked.selector, treasury));
        vault.claimFees();
        VM.prank(admin);
        vault.setTreasury(carol);
        VM.prank(carol);
        vault.claimFees();
        require(token.balanceOf(carol) == 10 * UNIT, "new treasury cannot claim");
    }

    function test_strategyWhoseWithdrawRevertsCanBeForceRemoved() public {
        _deposit(alice, 500 * UNIT);
        _deposit(bob, 500 * UNIT);
        _rebalance(s1, 500 * UNIT);
        s1.setBroken(true);
        VM.prank(admin);
        VM.expectRevert();
        vault.retireStrategy(address(s1));
        VM.prank(admin);
        vault.forceRemoveStrategy(address(s1));
        require(!vault.isStrategy(address(s1)) && vault.totalDebt() == 0, "still listed");
        _later(61);
        _eq(_redeemAll(alice), 250 * UNIT, 1, "write-off not shared");
        _eq(_redeemAll(bob), 250 * UNIT, 1, "write-off not shared");
    }

    function test_onlyTreasuryClaimsFeesAndNothingIsPushed() public {
        _deposit(alice, 1000 * UNIT);
        _rebalance(s1, 1000 * UNIT);
        token.mint(address(s1), 100 * UNIT);
        _harvest(s1);
        require(token.balanceOf(treasury) == 0, "fee pushed in harvest");
        VM.prank(alice);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.NotTreasury.selector, alice));
        vault.claimFees();
        VM.prank(treasury);
        vault.claimFees();
        require(token.balanceOf(treasury) == 10 * UNIT, "fee not claimable");
    }

    function test_mintChargesAtMostMaxFee() public {
        VM.prank(admin);
        nft.setMintFee(0, 50 * UNIT); // the fee changes while alice's mint is in flight
        token.mint(alice, 100 * UNIT);
        VM.startPrank(alice);
        token.approve(address(nft), 100 * UNIT);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.FeeAboveMax.selector, 50 * UNIT, 10 * UNIT));
        nft.mint(300, address(0), 10 * UNIT);
        nft.mint(300, address(0), 50 * UNIT);
        VM.stopPrank();
        require(token.balanceOf(treasury) == 50 * UNIT, "fee not charged");
    }

    function test_selfReferralThroughASecondAddressIsRefused() public {
        MintProxy proxy = new MintProxy();
        VM.startPrank(admin);
        nft.grantRole(nft.REFERRER_ROLE(), carol);
        nft.grantRole(nft.REFERRER_ROLE(), bob);
        VM.stopPrank();
        token.mint(address(proxy), 100 * UNIT);
        VM.prank(address(proxy));
        token.approve(address(nft), 100 * UNIT);
        // carol mints through a contract she controls, naming herself as referrer
        VM.prank(carol, carol);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidReferrer.selector, carol));
        proxy.mintVia(nft, 300, carol, 10 * UNIT);
        // two referrers cannot refer each other
        token.mint(carol, 100 * UNIT);
        VM.startPrank(carol, carol);
        token.approve(address(nft), 100 * UNIT);
        VM.expectRevert(abi.encodeWithSelector(SpaceFlightNFT.InvalidReferrer.selector, bob));
        nft.mint(300, bob, 10 * UNIT);
        VM.stopPrank();
        // a plain user may still name a referrer
        token.mint(alice, 10 * UNIT);
        VM.startPrank(alice, alice);
        token.approve(address(nft), 10 * UNIT);
        nft.mint(300, carol, 10 * UNIT);
        VM.stopPrank();
        require(token.balanceOf(carol) == 100 * UNIT + UNIT / 2, "referral share not paid");
    }

    function test_lastAdminCannotRenounceDefaultAdmin() public {
        bytes memory enforced =
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminDelay.selector, 0);
        VM.startPrank(admin);
        VM.expectRevert(enforced);
        vault.renounceRole(0x00, admin);
        VM.expectRevert(enforced);
        nft.renounceRole(0x00, admin);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminRules.selector)
        );
        vault.grantRole(0x00, bob);
        vault.beginDefaultAdminTransfer(bob);
        VM.stopPrank();
        VM.prank(bob);
        VM.expectRevert();
        vault.acceptDefaultAdminTransfer(); // the delay has not passed
        _later(ADMIN_DELAY + 1);
        VM.prank(bob);
        vault.acceptDefaultAdminTransfer();
        require(vault.defaultAdmin() == bob && !vault.hasRole(0x00, admin), "transfer not completed");
    }

    function test_strayTokensCanBeSweptButNotTheAsset() public {
        MockERC20 other = new MockERC20("Other", "OTH");
        other.mint(address(vault), 5 * UNIT);
        VM.startPrank(admin);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.CannotSweepAsset.selector, address(token)));
        vault.sweep(address(token), admin);
        vault.sweep(address(other), admin);
        VM.stopPrank();
        require(other.balanceOf(admin) == 5 * UNIT, "not swept");
    }

    function test_assetSentToTheVaultIsReleasedLikeProfit() public {
        _deposit(alice, 1000 * UNIT);
        token.mint(address(vault), 100 * UNIT); // a donation cannot move the price at once
        _eq(vault.totalAssets(), 1000 * UNIT, 0, "donation moved the price");
        _harvest(s1);
        _eq(vault.totalAssets(), 1000 * UNIT, 0, "harvested donation not locked");
        _later(vault.profitUnlockTime());
        _eq(vault.totalAssets(), 1090 * UNIT, 0, "donation not released");
    }

    function test_guardianCanPauseAndNothingElse() public {
        bytes memory notAdmin = abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, guardian, vault.ADMIN_ROLE()
        );
        bytes memory notDefault =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, guardian, bytes32(0));
        bytes32 guardianRole = vault.GUARDIAN_ROLE();
        VM.startPrank(guardian);
        vault.pause();
        nft.pause();
        VM.expectRevert(notAdmin);
        vault.unpause();
        VM.expectRevert(notAdmin);
        nft.unpause();
        VM.expectRevert(notDefault);
        vault.grantRole(guardianRole, alice);
        VM.expectRevert(notAdmin);
        vault.activateEmergencyShutdown();
        VM.expectRevert(notAdmin);
        vault.sweep(address(1), guardian);
        VM.expectRevert(notAdmin);
        nft.setTreasury(guardian);
        VM.stopPrank();
        VM.prank(alice);
        VM.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, alice, guardianRole
            )
        );
        vault.pause();
        VM.prank(admin);
        vault.unpause();
    }
}
