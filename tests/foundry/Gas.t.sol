// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Base} from "./Base.sol";

/// @notice One user journey for `forge snapshot` / `--gas-report` (compared with the old vault
/// in the issue's report): two deposits, allocation, yield, harvest, a partial withdrawal, a full
/// exit, a paid mint.
contract GasTest is Base {
    function test_gas_userJourney() public {
        _deposit(alice, 1000 * UNIT);
        _deposit(bob, 1000 * UNIT);
        _rebalance(s1, 1500 * UNIT);
        token.mint(address(s1), 100 * UNIT);
        _harvest(s1);
        _later(8 days);
        VM.prank(alice);
        vault.withdraw(700 * UNIT, alice, alice); // pulls from the strategy
        _redeemAll(bob);
        token.mint(carol, 10 * UNIT);
        VM.startPrank(carol);
        token.approve(address(nft), 10 * UNIT);
        nft.mint(300, address(0), 10 * UNIT);
        VM.stopPrank();
    }
}
