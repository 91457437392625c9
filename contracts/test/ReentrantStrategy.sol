// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IYieldStrategy} from "../interfaces/IYieldStrategy.sol";

/// @title Aggregator surface the attacker re-enters
/// @author Sphinx platform
/// @notice The vault functions ReentrantStrategy tries to call back into.
interface IAttackedVault {
    /// @notice See SphinxYieldAggregator.deposit (ERC-4626).
    /// @param assets The amount.
    /// @param receiver The receiver of the shares.
    /// @return shares The shares minted.
    function deposit(uint256 assets, address receiver) external returns (uint256 shares);

    /// @notice See SphinxYieldAggregator.withdraw (ERC-4626).
    /// @param assets The amount.
    /// @param receiver The receiver of the assets.
    /// @param owner The owner of the shares.
    /// @return shares The shares burnt.
    function withdraw(uint256 assets, address receiver, address owner) external returns (uint256 shares);

    /// @notice See SphinxYieldAggregator.harvest.
    /// @param strategy The strategy.
    function harvest(address strategy) external;
}

/// @title Reentrancy attacker strategy
/// @author Sphinx platform
/// @notice Test-only strategy that, when the vault calls it, tries to call back into the vault
/// (deposit, withdraw or harvest). With `bubble` false it swallows the failure and records it,
/// otherwise it lets the revert propagate.
contract ReentrantStrategy is IYieldStrategy {
    using SafeERC20 for IERC20;

    /// @notice What the attacker re-enters with.
    enum Attack {
        None,
        Deposit,
        Withdraw,
        Harvest
    }

    /// @notice The strategy's asset.
    IERC20 public immutable TOKEN;
    /// @notice The attacked vault.
    IAttackedVault public immutable VAULT;
    /// @notice The configured attack.
    Attack public attack;
    /// @notice When true, a failed re-entry reverts the whole call.
    bool public bubble;
    /// @notice Number of re-entry attempts made.
    uint256 public attempts;
    /// @notice Number of re-entries that succeeded (must stay zero).
    uint256 public successes;
    /// @notice Revert data of the last failed re-entry.
    bytes public lastError;

    /// @notice Deploys the attacker.
    /// @param token_ The asset.
    /// @param vault_ The vault to attack.
    constructor(address token_, address vault_) {
        TOKEN = IERC20(token_);
        VAULT = IAttackedVault(vault_);
    }

    /// @notice Configures the attack.
    /// @param attack_ What to re-enter with.
    /// @param bubble_ Whether a failed re-entry reverts the outer call.
    function configure(Attack attack_, bool bubble_) external {
        attack = attack_;
        bubble = bubble_;
    }

    /// @inheritdoc IYieldStrategy
    function deposit(uint256 amount) external {
        amount;
        _reenter();
    }

    /// @inheritdoc IYieldStrategy
    function withdraw(uint256 amount) external {
        _reenter();
        uint256 balance = TOKEN.balanceOf(address(this));
        TOKEN.safeTransfer(address(VAULT), amount > balance ? balance : amount);
    }

    /// @inheritdoc IYieldStrategy
    function withdrawAll() external {
        _reenter();
        TOKEN.safeTransfer(address(VAULT), TOKEN.balanceOf(address(this)));
    }

    /// @inheritdoc IYieldStrategy
    function asset() external view returns (address token) {
        return address(TOKEN);
    }

    /// @inheritdoc IYieldStrategy
    function totalAssets() external view returns (uint256 assets) {
        return TOKEN.balanceOf(address(this));
    }

    function _reenter() private {
        if (attack == Attack.None) return;
        ++attempts;
        if (bubble) {
            _call();
            ++successes;
            return;
        }
        try this.attackOnce() {
            ++successes;
        } catch (bytes memory reason) {
            lastError = reason;
        }
    }

    /// @notice One re-entry attempt (external so it can be wrapped in try/catch).
    function attackOnce() external {
        _call();
    }

    function _call() private {
        if (attack == Attack.Deposit) {
            TOKEN.forceApprove(address(VAULT), 1e6);
            VAULT.deposit(1e6, address(this));
        } else if (attack == Attack.Withdraw) {
            VAULT.withdraw(1, address(this), address(this));
        } else {
            VAULT.harvest(address(this));
        }
    }
}
