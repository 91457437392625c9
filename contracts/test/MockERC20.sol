// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Mock ERC-20
/// @author Sphinx platform
/// @notice Test-only token with an open mint and burn.
contract MockERC20 is ERC20 {
    /// @notice Deploys the token.
    /// @param name_ The token name.
    /// @param symbol_ The token symbol.
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {}

    /// @notice Mints `amount` to `to`, open to anyone.
    /// @param to The receiver.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Burns `amount` from `from`, open to anyone (simulates losses in tests).
    /// @param from The holder.
    /// @param amount The amount.
    function burn(address from, uint256 amount) external {
        _burn(from, amount);
    }
}
