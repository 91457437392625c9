// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Base} from "./Base.sol";
import {VaultHandler} from "./VaultHandler.sol";

/// @notice Invariants of issue 13 over random sequences of the handler's actions.
contract VaultInvariantsTest is Base {
    VaultHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new VaultHandler(vault, token, [s1, s2], admin, operator, treasury);
    }

    /// @notice Forge fuzzes only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice One campaign checks every invariant after each call (a campaign per invariant
    /// function would triple the run time for the same coverage).
    function invariant_vault() public {
        _booksBalance();
        _treasuryNeverReceivesPrincipal();
        _everyHolderCanExitAtShutdown();
    }

    /// @notice The vault holds what it accounts for, and its debts add up.
    function _booksBalance() internal view {
        require(token.balanceOf(address(vault)) >= vault.totalIdle() + vault.feesAccrued(), "idle short");
        uint256 debts = vault.strategyDebt(address(s1)) + vault.strategyDebt(address(s2));
        require(vault.totalDebt() == debts, "debts do not add up");
        uint256 owed = 0;
        for (uint256 i = 0; i < 3; ++i) owed += vault.convertToAssets(vault.balanceOf(handler.actors(i)));
        require(owed <= vault.totalAssets(), "holders owed more than the vault has");
    }

    /// @notice The treasury never gets more than the fee on real profit (never principal).
    function _treasuryNeverReceivesPrincipal() internal view {
        require(vault.feesAccrued() + token.balanceOf(treasury) <= handler.feeBound(), "treasury took principal");
    }

    /// @notice At shutdown (stuck strategies written off) every holder redeems its shares' worth.
    function _everyHolderCanExitAtShutdown() internal {
        uint256 state = VM.snapshotState();
        VM.startPrank(admin);
        if (!vault.emergencyShutdown()) vault.activateEmergencyShutdown();
        address[] memory listed = vault.strategies();
        for (uint256 i = 0; i < listed.length; ++i) vault.forceRemoveStrategy(listed[i]);
        VM.stopPrank();
        uint256 ops = handler.ghostTolerance() + 3 * (vault.convertToAssets(1) + 1);
        for (uint256 i = 0; i < 3; ++i) {
            address actor = handler.actors(i);
            uint256 shares = vault.balanceOf(actor);
            if (shares == 0) continue;
            uint256 worth = vault.convertToAssets(shares);
            if (worth == 0) continue;
            uint256 before = token.balanceOf(actor);
            VM.prank(actor);
            vault.redeem(shares, actor, actor);
            require(token.balanceOf(actor) - before + ops >= worth, "holder paid less than its shares' worth");
        }
        require(token.balanceOf(address(vault)) >= vault.feesAccrued(), "fees unbacked after exits");
        VM.revertToState(state);
    }

}
