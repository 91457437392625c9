// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IYieldStrategy} from "../interfaces/IYieldStrategy.sol";

/// @title Mock strategy
/// @author Sphinx platform
/// @notice Test-only strategy that just holds the tokens; yield is simulated by minting the mock
/// token to it. `setBroken(true)` makes every withdrawal revert (a stuck strategy);
/// `setOverpay(true)` makes `withdraw` return everything it holds.
contract MockStrategy is IYieldStrategy {
    using SafeERC20 for IERC20;

    /// @notice The strategy's asset.
    IERC20 public immutable TOKEN;
    /// @notice The only caller allowed to deposit and withdraw.
    address public immutable VAULT;
    /// @notice When true, withdrawals revert.
    bool public broken;
    /// @notice When true, `withdraw` sends everything it holds, whatever was asked.
    bool public overpay;

    /// @notice The caller is not the vault.
    error OnlyVault();
    /// @notice The strategy is broken.
    error Broken();

    /// @notice Deploys the strategy.
    /// @param token_ The asset.
    /// @param vault_ The vault.
    constructor(address token_, address vault_) {
        TOKEN = IERC20(token_);
        VAULT = vault_;
    }

    modifier onlyVault() {
        if (msg.sender != VAULT) revert OnlyVault();
        _;
    }

    /// @notice Makes withdrawals revert (or work again).
    /// @param value True to break.
    function setBroken(bool value) external {
        broken = value;
    }

    /// @notice Makes `withdraw` send the whole balance (a strategy returning more than asked).
    /// @param value True to overpay.
    function setOverpay(bool value) external {
        overpay = value;
    }

    /// @inheritdoc IYieldStrategy
    function deposit(uint256 amount) external view onlyVault {
        amount; // tokens were already pushed by the vault
    }

    /// @inheritdoc IYieldStrategy
    function withdraw(uint256 amount) external onlyVault {
        if (broken) revert Broken();
        uint256 balance = TOKEN.balanceOf(address(this));
        TOKEN.safeTransfer(VAULT, overpay || amount > balance ? balance : amount);
    }

    /// @inheritdoc IYieldStrategy
    function withdrawAll() external onlyVault {
        if (broken) revert Broken();
        TOKEN.safeTransfer(VAULT, TOKEN.balanceOf(address(this)));
    }

    /// @inheritdoc IYieldStrategy
    function asset() external view returns (address token) {
        return address(TOKEN);
    }

    /// @inheritdoc IYieldStrategy
    function totalAssets() external view returns (uint256 assets) {
        return TOKEN.balanceOf(address(this));
    }
}
