// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Mock ERC-20
/// @author Sphinx platform
/// @notice Test-only token with an open mint and burn, and a blocklist (like USDC's) so tests can
/// make an address unable to receive.
contract MockERC20 is ERC20 {
    /// @notice Addresses that can neither send nor receive.
    mapping(address account => bool blocked) public blocked;

    /// @notice The address is blocklisted.
    /// @param account The blocked address.
    error Blocked(address account);

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

    /// @notice Blocks or unblocks `account`, open to anyone (fault injection in tests).
    /// @param account The address.
    /// @param value True to block.
    function setBlocked(address account, bool value) external {
        blocked[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}
