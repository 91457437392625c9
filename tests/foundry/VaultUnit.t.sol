// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SphinxYieldAggregator} from "../../contracts/SphinxYieldAggregator.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {MockStrategy} from "../../contracts/test/MockStrategy.sol";
import {Base} from "./Base.sol";

/// @notice The remaining paths of SphinxYieldAggregator (guards, admin setters, edge cases).
contract VaultUnitTest is Base {
    function test_constructorRejectsBadArguments() public {
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.AssetHasNoCode.selector, address(0x1234)));
        new SphinxYieldAggregator(address(0x1234), treasury, admin, 0);
        VM.expectRevert(SphinxYieldAggregator.ZeroAddress.selector);
        new SphinxYieldAggregator(address(token), address(0), admin, 0);
        require(vault.decimals() == 24 && vault.asset() == address(token), "shares are asset decimals + 6");
    }

    function test_depositGuards() public {
        token.mint(alice, 10 * UNIT);
        VM.startPrank(alice);
        token.approve(address(vault), 10 * UNIT);
        VM.expectRevert(SphinxYieldAggregator.ZeroAmount.selector);
        vault.deposit(0, alice);
        vault.deposit(UNIT, alice);
        uint256 availableAt = block.timestamp + 60;
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.CooldownActive.selector, availableAt));
        vault.deposit(UNIT, alice);
        VM.stopPrank();
        VM.prank(guardian);
        vault.pause();
        require(vault.maxDeposit(alice) == 0 && vault.maxMint(alice) == 0, "max while paused");
        _later(61);
        VM.startPrank(alice);
        VM.expectRevert(Pausable.EnforcedPause.selector);
        vault.deposit(UNIT, alice);
        VM.expectRevert(Pausable.EnforcedPause.selector);
        vault.mint(UNIT, alice);
        VM.stopPrank();
        VM.startPrank(admin);
        vault.unpause();
        vault.activateEmergencyShutdown();
        VM.expectRevert(SphinxYieldAggregator.EmergencyShutdownActive.selector);
        vault.activateEmergencyShutdown();
        VM.stopPrank();
        require(vault.maxDeposit(alice) == 0 && vault.nextActionAt(alice) == 0, "shutdown views");
        VM.startPrank(alice);
        VM.expectRevert(SphinxYieldAggregator.EmergencyShutdownActive.selector);
        vault.deposit(UNIT, alice);
        VM.expectRevert(SphinxYieldAggregator.EmergencyShutdownActive.selector);
        vault.mint(UNIT, alice);
        VM.stopPrank();
    }

    function test_mintAndWithdrawThroughAnApprovedSpender() public {
        token.mint(alice, 10 * UNIT);
        VM.startPrank(alice);
        token.approve(address(vault), 10 * UNIT);
        uint256 assets = vault.mint(5 * UNIT * 1e6, alice);
        require(assets == 5 * UNIT, "mint priced at 1:1e6");
        vault.approve(bob, type(uint256).max);
        VM.stopPrank();
        _later(61);
        VM.prank(bob);
        vault.withdraw(2 * UNIT, bob, alice);
        require(token.balanceOf(bob) == 2 * UNIT, "spender withdrew");
        require(vault.maxDeposit(alice) == type(uint256).max && vault.maxMint(alice) == type(uint256).max, "max");
    }

    function test_withdrawPullsFromStrategiesAndSkipsBrokenOnes() public {
        _deposit(alice, 1000 * UNIT);
        _rebalance(s2, 600 * UNIT);
        _rebalance(s1, 400 * UNIT); // s1 is first in the list
        s1.setBroken(true);
        _later(61);
        VM.prank(alice);
        vault.withdraw(500 * UNIT, alice, alice); // s1 fails, s2 pays
        require(token.balanceOf(alice) == 500 * UNIT && vault.strategyDebt(address(s2)) == 100 * UNIT, "pulled");
        _later(61);
        VM.prank(alice);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.InsufficientLiquidity.selector, 100 * UNIT, 200 * UNIT));
        vault.withdraw(200 * UNIT, alice, alice);
    }

    function test_feeClaimNeedsFees() public {
        VM.prank(treasury);
        VM.expectRevert(SphinxYieldAggregator.ZeroAmount.selector);
        vault.claimFees();
    }

    function test_harvestGuardsAndNoOp() public {
        VM.prank(operator);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.StrategyNotActive.selector, alice));
        vault.harvest(alice);
        bytes32 operatorRole = vault.OPERATOR_ROLE();
        VM.prank(alice);
        VM.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, operatorRole)
        );
        vault.harvest(address(s1));
        _deposit(alice, 100 * UNIT);
        _rebalance(s1, 100 * UNIT);
        _harvest(s1); // nothing changed: nothing booked
        require(vault.lockedProfit() == 0 && vault.strategyLoss(address(s1)) == 0, "no-op harvest booked");
    }

    function test_rebalanceBothWaysAndGuards() public {
        _deposit(alice, 100 * UNIT);
        VM.prank(operator);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.InsufficientLiquidity.selector, 100 * UNIT, 101 * UNIT));
        vault.rebalance(address(s1), 101 * UNIT);
        _rebalance(s1, 80 * UNIT);
        _rebalance(s1, 80 * UNIT); // unchanged
        _rebalance(s1, 30 * UNIT);
        require(vault.strategyDebt(address(s1)) == 30 * UNIT && vault.totalIdle() == 70 * UNIT, "rebalanced");
    }

    function test_addStrategyGuards() public {
        MockERC20 other = new MockERC20("O", "O");
        MockStrategy foreign = new MockStrategy(address(other), address(vault));
        VM.startPrank(admin);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.StrategyHasNoCode.selector, alice));
        vault.addStrategy(alice);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.StrategyAlreadyActive.selector, address(s1)));
        vault.addStrategy(address(s1));
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.StrategyAssetMismatch.selector, address(foreign)));
        vault.addStrategy(address(foreign));
        for (uint256 i = 2; i < vault.MAX_STRATEGIES(); ++i) {
            vault.addStrategy(address(new MockStrategy(address(token), address(vault))));
        }
        address extra = address(new MockStrategy(address(token), address(vault)));
        VM.expectRevert(SphinxYieldAggregator.TooManyStrategies.selector);
        vault.addStrategy(extra);
        require(vault.strategies().length == vault.MAX_STRATEGIES(), "count");
        vault.activateEmergencyShutdown();
        VM.expectRevert(SphinxYieldAggregator.EmergencyShutdownActive.selector);
        vault.addStrategy(extra);
        VM.stopPrank();
    }

    function test_retireBooksSurplusShortfallOrNeither() public {
        _deposit(alice, 300 * UNIT);
        _rebalance(s1, 100 * UNIT);
        _rebalance(s2, 100 * UNIT);
        token.mint(address(s1), 10 * UNIT);
        token.burn(address(s2), 10 * UNIT);
        VM.startPrank(admin);
        vault.retireStrategy(address(s1));
        require(vault.feesAccrued() == UNIT && vault.lockedProfit() == 9 * UNIT, "surplus is profit");
        vault.retireStrategy(address(s2));
        require(vault.totalDebt() == 0 && vault.totalIdle() == 299 * UNIT, "shortfall is a loss");
        MockStrategy s3 = new MockStrategy(address(token), address(vault));
        vault.addStrategy(address(s3));
        VM.stopPrank();
        _rebalance(s3, 50 * UNIT);
        VM.prank(admin);
        vault.retireStrategy(address(s3));
        require(vault.totalIdle() == 299 * UNIT, "exact return");
    }

    function test_shutdownReportsAStuckStrategyAndKeepsIt() public {
        _deposit(alice, 100 * UNIT);
        _rebalance(s1, 50 * UNIT);
        s1.setBroken(true);
        VM.prank(admin);
        vault.activateEmergencyShutdown();
        require(vault.isStrategy(address(s1)) && vault.totalDebt() == 50 * UNIT, "stuck strategy dropped");
        s1.setBroken(false);
        VM.prank(admin);
        vault.retireStrategy(address(s1)); // retried after the shutdown
        require(vault.totalIdle() == 100 * UNIT, "recovered");
    }

    function test_aLossEatsTheLockedProfitFirst() public {
        _deposit(alice, 100 * UNIT);
        token.mint(address(s1), 10 * UNIT);
        _harvest(s1); // 9 locked, idle 109
        _rebalance(s1, 109 * UNIT);
        token.burn(address(s1), 5 * UNIT);
        require(vault.totalAssets() == 100 * UNIT, "an unbooked loss is taken from the locked profit");
        _harvest(s1); // books the loss of 5
        require(vault.lockedProfit() == 4 * UNIT, "a booked loss is taken from the locked profit");
        require(vault.totalAssets() == 100 * UNIT, "holders keep their value");
    }

    function test_aLossLargerThanTheLockedProfitLeavesNothingLocked() public {
        _deposit(alice, 100 * UNIT);
        token.mint(address(s1), 10 * UNIT);
        _harvest(s1); // 9 locked, idle 109
        _rebalance(s1, 109 * UNIT);
        token.burn(address(s1), 109 * UNIT);
        require(vault.totalAssets() == 0, "assets below the locked profit");
    }

    function test_adminSetters() public {
        VM.startPrank(admin);
        VM.expectRevert(SphinxYieldAggregator.ZeroAddress.selector);
        vault.setTreasury(address(0));
        vault.setTreasury(carol);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.FeeTooHigh.selector, 3001));
        vault.setTreasuryFeeBps(3001);
        vault.setTreasuryFeeBps(3000);
        VM.expectRevert(abi.encodeWithSelector(SphinxYieldAggregator.UnlockTimeTooLong.selector, 30 days + 1));
        vault.setProfitUnlockTime(30 days + 1);
        VM.stopPrank();
        require(vault.treasury() == carol && vault.treasuryFeeBps() == 3000, "set");
        _deposit(alice, 100 * UNIT);
        token.mint(address(s1), 10 * UNIT);
        _harvest(s1); // 7 locked over 7 days
        _later(1 days);
        VM.prank(admin);
        vault.setProfitUnlockTime(1 days); // what is left (6) is re-locked over one day
        _eq(vault.lockedProfit(), 6 * UNIT, 1, "re-locked");
        VM.prank(admin);
        vault.setProfitUnlockTime(0);
        require(vault.lockedProfit() == 0 && vault.totalAssets() == 107 * UNIT, "released at once");
    }

    function test_sweepGuards() public {
        MockERC20 other = new MockERC20("O", "O");
        VM.startPrank(admin);
        VM.expectRevert(SphinxYieldAggregator.ZeroAddress.selector);
        vault.sweep(address(other), address(0));
        VM.expectRevert(SphinxYieldAggregator.ZeroAmount.selector);
        vault.sweep(address(other), admin);
        VM.stopPrank();
    }

    function test_rolesGrantRevokeRenounce() public {
        bytes32 operatorRole = vault.OPERATOR_ROLE();
        VM.startPrank(admin);
        vault.grantRole(operatorRole, bob);
        vault.revokeRole(operatorRole, bob);
        vault.grantRole(operatorRole, bob);
        VM.stopPrank();
        VM.prank(bob);
        vault.renounceRole(operatorRole, bob);
        require(!vault.hasRole(operatorRole, bob), "renounced");
    }
}
