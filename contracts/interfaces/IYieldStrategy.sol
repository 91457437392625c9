// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Yield strategy interface
/// @author Sphinx platform
/// @notice What SphinxYieldAggregator expects from a strategy it allocates funds to. The vault
/// pushes tokens to the strategy and then calls `deposit`; `withdraw`/`withdrawAll` send tokens
/// back to the vault. The vault measures its own balance instead of trusting a strategy's word.
interface IYieldStrategy {
    /// @notice Tells the strategy that `amount` tokens were just transferred to it by the vault.
    /// @param amount The amount transferred.
    function deposit(uint256 amount) external;

    /// @notice Sends up to `amount` tokens back to the vault.
    /// @param amount The amount requested.
    function withdraw(uint256 amount) external;

    /// @notice Sends every token the strategy controls back to the vault.
    function withdrawAll() external;

    /// @notice The token the strategy accepts (must equal the vault's asset).
    /// @return token The asset address.
    function asset() external view returns (address token);

    /// @notice Everything the strategy holds for the vault, including unharvested yield.
    /// @return assets The amount in asset units.
    function totalAssets() external view returns (uint256 assets);
}
