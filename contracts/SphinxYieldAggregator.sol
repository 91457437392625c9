// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IYieldStrategy} from "./interfaces/IYieldStrategy.sol";

/// @title Sphinx yield aggregator
/// @author Sphinx platform
/// @notice Users deposit one ERC-20 asset; ADMIN_ROLE adds and retires strategies (contracts
/// only); OPERATOR_ROLE moves funds into them (`rebalance`) and realises their yield (`harvest`).
/// A treasury share is taken from every harvest and the rest is shared among depositors in
/// proportion to principal x phi boost (phi 200 -> 1.0x ... phi 1000 -> 2.0x).
/// Safety: pause stops inflows and strategy operations but never withdrawals; the irreversible
/// emergency shutdown pulls every strategy's funds back, stops deposits forever and lifts the
/// per-account cooldown so every user can exit at once.
/// Trust assumption: strategies are vetted by ADMIN_ROLE and principal-protected. A strategy
/// that reports less than it was given emits `StrategyLossReported`; the loss is not socialised.
contract SphinxYieldAggregator is AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Per-depositor bookkeeping (principal, boosted weight, reward checkpoint).
    struct Account {
        uint256 principal;
        uint256 weight;
        uint256 rewardDebt;
        uint256 rewards;
        uint64 lastActionAt;
        uint16 phiScore;
    }

    /// @notice Role that manages strategies, treasury, fees, pause and emergency shutdown.
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN_ROLE");
    /// @notice Role that harvests, rebalances and records users' phi scores.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Lowest accepted phi score (1.0x boost).
    uint16 public constant MIN_PHI_SCORE = 200;
    /// @notice Highest accepted phi score (2.0x boost).
    uint16 public constant MAX_PHI_SCORE = 1000;
    /// @notice Minimum time between two state-changing actions of one account.
    uint256 public constant COOLDOWN = 1 minutes;
    /// @notice Upper bound on active strategies (keeps every loop bounded).
    uint256 public constant MAX_STRATEGIES = 10;
    /// @notice Upper bound on the treasury's share of harvested yield, in basis points.
    uint16 public constant MAX_TREASURY_FEE_BPS = 3000;
    uint256 private constant _BPS = 10_000;
    uint256 private constant _ACC_PRECISION = 1e27;

    /// @notice The deposited ERC-20 asset.
    IERC20 public immutable ASSET;
    /// @notice Receiver of the treasury share of yield.
    address public treasury;
    /// @notice Treasury share of harvested yield, in basis points.
    uint16 public treasuryFeeBps;
    /// @notice True once the irreversible emergency shutdown has been activated.
    bool public emergencyShutdown;
    /// @notice Sum of all depositors' principal.
    uint256 public totalPrincipal;
    /// @notice Sum of all depositors' boosted weights.
    uint256 public totalWeight;
    /// @notice Rewards credited to depositors and not yet claimed (an upper bound of their sum).
    uint256 public rewardsOutstanding;
    /// @notice Accumulated rewards per unit of weight, scaled by 1e27.
    uint256 public accRewardPerWeight;
    /// @notice Funds currently allocated to strategies (sum of `strategyDebt`).
    uint256 public totalDebt;
    /// @notice Funds allocated to each strategy.
    mapping(address strategy => uint256 debt) public strategyDebt;
    /// @notice True for strategies in the active list.
    mapping(address strategy => bool active) public isStrategy;
    address[] private _strategies;
    mapping(address account => Account data) private _accounts;

    /// @notice A user deposited.
    /// @param account The depositor.
    /// @param amount The amount received by the vault.
    /// @param principal The depositor's principal afterwards.
    event Deposited(address indexed account, uint256 indexed amount, uint256 indexed principal);
    /// @notice A user withdrew principal.
    /// @param account The user.
    /// @param amount The amount paid out.
    /// @param principal The user's principal afterwards.
    event Withdrawn(address indexed account, uint256 indexed amount, uint256 indexed principal);
    /// @notice A user claimed rewards.
    /// @param account The user.
    /// @param amount The amount paid out.
    event RewardsClaimed(address indexed account, uint256 indexed amount);
    /// @notice An operator recorded a user's phi score.
    /// @param account The user.
    /// @param oldScore The previous score (0 when unset).
    /// @param newScore The new score.
    event PhiScoreUpdated(address indexed account, uint16 indexed oldScore, uint16 indexed newScore);
    /// @notice A strategy was added to the active list.
    /// @param strategy The strategy.
    event StrategyAdded(address indexed strategy);
    /// @notice A strategy was removed from the active list after its funds came back.
    /// @param strategy The strategy.
    /// @param recovered The amount returned to the vault.
    event StrategyRetired(address indexed strategy, uint256 indexed recovered);
    /// @notice Funds came back from a strategy (withdrawal liquidity, rebalance, recovery).
    /// @param strategy The strategy.
    /// @param amount The amount received.
    /// @param debt The strategy's debt afterwards.
    event StrategyFundsReturned(address indexed strategy, uint256 indexed amount, uint256 indexed debt);
    /// @notice A strategy failed to return funds (emergency shutdown or a user's withdrawal).
    /// @param strategy The strategy (still listed; retry with `retireStrategy`).
    event StrategyRecoveryFailed(address indexed strategy);
    /// @notice A strategy holds less than it was given.
    /// @param strategy The strategy.
    /// @param loss The shortfall written off its debt.
    event StrategyLossReported(address indexed strategy, uint256 indexed loss);
    /// @notice An operator changed a strategy's allocation.
    /// @param strategy The strategy.
    /// @param oldDebt The allocation before.
    /// @param newDebt The allocation after.
    event Rebalanced(address indexed strategy, uint256 indexed oldDebt, uint256 indexed newDebt);
    /// @notice Yield was realised and split.
    /// @param strategy The source (the vault itself for a retirement surplus).
    /// @param profit The amount realised.
    /// @param treasuryShare The part sent to the treasury.
    /// @param distributed The part credited to depositors.
    event Harvested(
        address indexed strategy, uint256 indexed profit, uint256 indexed treasuryShare, uint256 distributed
    );
    /// @notice The treasury address changed.
    /// @param oldTreasury The previous treasury.
    /// @param newTreasury The new treasury.
    event TreasuryUpdated(address indexed oldTreasury, address indexed newTreasury);
    /// @notice The treasury fee changed.
    /// @param oldBps The previous fee in basis points.
    /// @param newBps The new fee in basis points.
    event TreasuryFeeUpdated(uint16 indexed oldBps, uint16 indexed newBps);
    /// @notice The emergency shutdown was activated.
    /// @param by The admin who activated it.
    /// @param recovered The amount pulled back from strategies.
    event EmergencyShutdownActivated(address indexed by, uint256 indexed recovered);

    /// @notice A zero address was given where one is required.
    error ZeroAddress();
    /// @notice A zero amount was given.
    error ZeroAmount();
    /// @notice The account acted less than COOLDOWN ago.
    /// @param availableAt The timestamp from which the account may act again.
    error CooldownActive(uint256 availableAt);
    /// @notice The phi score is outside [MIN_PHI_SCORE, MAX_PHI_SCORE].
    /// @param score The rejected score.
    error PhiScoreOutOfBounds(uint16 score);
    /// @notice The action is closed because the emergency shutdown is active.
    error EmergencyShutdownActive();
    /// @notice More was requested than the account owns.
    /// @param available What the account owns.
    /// @param requested What was requested.
    error InsufficientBalance(uint256 available, uint256 requested);
    /// @notice The vault cannot gather enough funds for the request.
    /// @param available What the vault could gather.
    /// @param requested What was needed.
    error InsufficientLiquidity(uint256 available, uint256 requested);
    /// @notice The asset address has no contract code.
    /// @param asset The rejected address.
    error AssetHasNoCode(address asset);
    /// @notice The strategy address has no contract code.
    /// @param strategy The rejected address.
    error StrategyHasNoCode(address strategy);
    /// @notice The strategy's asset differs from the vault's.
    /// @param strategy The rejected strategy.
    error StrategyAssetMismatch(address strategy);
    /// @notice The strategy is already active.
    /// @param strategy The strategy.
    error StrategyAlreadyActive(address strategy);
    /// @notice The strategy is not active.
    /// @param strategy The strategy.
    error StrategyNotActive(address strategy);
    /// @notice MAX_STRATEGIES are already active.
    error TooManyStrategies();
    /// @notice The fee exceeds MAX_TREASURY_FEE_BPS.
    /// @param bps The rejected fee.
    error FeeTooHigh(uint16 bps);

    /// @notice Deploys the vault.
    /// @param asset_ The deposited ERC-20 (must be a contract).
    /// @param treasury_ Receiver of the treasury share of yield.
    /// @param admin_ Receives DEFAULT_ADMIN_ROLE and ADMIN_ROLE.
    constructor(address asset_, address treasury_, address admin_) {
        if (asset_.code.length == 0) revert AssetHasNoCode(asset_);
        if (treasury_ == address(0) || admin_ == address(0)) revert ZeroAddress();
        ASSET = IERC20(asset_);
        treasury = treasury_;
        treasuryFeeBps = 1000;
        _grantRole(DEFAULT_ADMIN_ROLE, admin_);
        _grantRole(ADMIN_ROLE, admin_);
    }

    modifier notShutdown() {
        if (emergencyShutdown) revert EmergencyShutdownActive();
        _;
    }

    modifier activeStrategy(address strategy) {
        if (!isStrategy[strategy]) revert StrategyNotActive(strategy);
        _;
    }

    // ---------------------------------------------------------------- user actions

    /// @notice Deposits `amount` of the asset (needs an allowance). Closed while paused or shut down.
    /// @param amount The amount to deposit.
    function deposit(uint256 amount) external nonReentrant whenNotPaused notShutdown {
        if (amount == 0) revert ZeroAmount();
        Account storage acct = _beginAction(msg.sender);
        uint256 before = ASSET.balanceOf(address(this));
        ASSET.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = ASSET.balanceOf(address(this)) - before;
        acct.principal += received;
        totalPrincipal += received;
        _updateWeight(acct);
        emit Deposited(msg.sender, received, acct.principal);
    }

    /// @notice Withdraws `amount` of principal to the caller. Open while paused and during shutdown.
    /// @param amount The amount to withdraw.
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage acct = _beginAction(msg.sender);
        if (amount > acct.principal) revert InsufficientBalance(acct.principal, amount);
        acct.principal -= amount;
        totalPrincipal -= amount;
        _updateWeight(acct);
        _pay(msg.sender, amount);
        emit Withdrawn(msg.sender, amount, acct.principal);
    }

    /// @notice Pays the caller's accrued rewards. Open while paused and during shutdown.
    function claimRewards() external nonReentrant {
        Account storage acct = _beginAction(msg.sender);
        uint256 amount = _takeRewards(acct);
        if (amount == 0) revert ZeroAmount();
        _pay(msg.sender, amount);
        emit RewardsClaimed(msg.sender, amount);
    }

    /// @notice Withdraws all principal and rewards of the caller in one call.
    function exit() external nonReentrant {
        Account storage acct = _beginAction(msg.sender);
        uint256 principal = acct.principal;
        uint256 rewards = _takeRewards(acct);
        if (principal + rewards == 0) revert ZeroAmount();
        acct.principal = 0;
        totalPrincipal -= principal;
        _updateWeight(acct);
        _pay(msg.sender, principal + rewards);
        emit Withdrawn(msg.sender, principal, 0);
        if (rewards != 0) emit RewardsClaimed(msg.sender, rewards);
    }

    // ---------------------------------------------------------------- operator actions

    /// @notice Records a user's phi score (OPERATOR_ROLE); changes the user's yield weight.
    /// @param account The user.
    /// @param score The score, within [MIN_PHI_SCORE, MAX_PHI_SCORE].
    function setPhiScore(address account, uint16 score) external nonReentrant onlyRole(OPERATOR_ROLE) {
        if (score < MIN_PHI_SCORE || score > MAX_PHI_SCORE) revert PhiScoreOutOfBounds(score);
        Account storage acct = _accounts[account];
        _settle(acct);
        uint16 old = acct.phiScore;
        acct.phiScore = score;
        _updateWeight(acct);
        emit PhiScoreUpdated(account, old, score);
    }

    /// @notice Realises a strategy's yield and splits it between treasury and depositors.
    /// @param strategy An active strategy.
    function harvest(address strategy)
        external
        nonReentrant
        whenNotPaused
        notShutdown
        onlyRole(OPERATOR_ROLE)
        activeStrategy(strategy)
    {
        uint256 debt = strategyDebt[strategy];
        uint256 assets = IYieldStrategy(strategy).totalAssets();
        if (assets > debt) {
            uint256 received = _pullFrom(strategy, assets - debt);
            if (received > 0) _distribute(strategy, received);
        } else if (assets < debt) {
            _writeOffLoss(strategy, debt - assets);
        }
    }

    /// @notice Moves idle funds into a strategy or back until its debt equals `targetDebt`.
    /// @param strategy An active strategy.
    /// @param targetDebt The wanted allocation.
    function rebalance(address strategy, uint256 targetDebt)
        external
        nonReentrant
        whenNotPaused
        notShutdown
        onlyRole(OPERATOR_ROLE)
        activeStrategy(strategy)
    {
        uint256 oldDebt = strategyDebt[strategy];
        if (targetDebt > oldDebt) {
            uint256 amount = targetDebt - oldDebt;
            uint256 idle = ASSET.balanceOf(address(this));
            if (amount > idle) revert InsufficientLiquidity(idle, amount);
            strategyDebt[strategy] = targetDebt;
            totalDebt += amount;
            ASSET.safeTransfer(strategy, amount);
            IYieldStrategy(strategy).deposit(amount);
        } else if (targetDebt < oldDebt) {
            _withdrawFromStrategy(strategy, oldDebt - targetDebt, false);
        }
        emit Rebalanced(strategy, oldDebt, strategyDebt[strategy]);
    }

    // ---------------------------------------------------------------- admin actions

    /// @notice Adds a strategy (ADMIN_ROLE). Rejects addresses without code and foreign assets.
    /// @param strategy The strategy contract.
    function addStrategy(address strategy) external nonReentrant onlyRole(ADMIN_ROLE) notShutdown {
        if (strategy.code.length == 0) revert StrategyHasNoCode(strategy);
        if (isStrategy[strategy]) revert StrategyAlreadyActive(strategy);
        if (_strategies.length == MAX_STRATEGIES) revert TooManyStrategies();
        if (IYieldStrategy(strategy).asset() != address(ASSET)) revert StrategyAssetMismatch(strategy);
        isStrategy[strategy] = true;
        _strategies.push(strategy);
        emit StrategyAdded(strategy);
    }

    /// @notice Pulls everything back from a strategy and removes it (ADMIN_ROLE).
    /// A surplus over its debt is distributed like a harvest; a shortfall is reported as a loss.
    /// @param strategy An active strategy.
    function retireStrategy(address strategy) external nonReentrant onlyRole(ADMIN_ROLE) activeStrategy(strategy) {
        _removeStrategy(strategy);
        uint256 recovered = _recoverAll(strategy);
        emit StrategyRetired(strategy, recovered);
    }

    /// @notice Irreversibly stops deposits and strategy use, pulls all funds back from strategies
    /// and lifts the cooldown so every user can exit (ADMIN_ROLE; works while paused). A strategy
    /// that fails to pay back stays listed and is reported; retry with `retireStrategy`.
    function activateEmergencyShutdown() external nonReentrant onlyRole(ADMIN_ROLE) notShutdown {
        emergencyShutdown = true;
        uint256 recovered = 0;
        for (uint256 i = _strategies.length; i > 0; --i) {
            address strategy = _strategies[i - 1];
            uint256 debt = strategyDebt[strategy];
            uint256 before = ASSET.balanceOf(address(this));
            // A strategy that reverts must not block the shutdown: catch, report, keep it listed.
            try IYieldStrategy(strategy).withdrawAll() {
                _removeStrategy(strategy);
                _clearDebt(strategy, debt);
                uint256 amount = ASSET.balanceOf(address(this)) - before;
                _bookRecovery(strategy, debt, amount);
                recovered += amount;
                emit StrategyRetired(strategy, amount);
            } catch {
                emit StrategyRecoveryFailed(strategy);
            }
        }
        emit EmergencyShutdownActivated(msg.sender, recovered);
    }

    /// @notice Pauses deposits, harvests and rebalances (ADMIN_ROLE). Withdrawals stay open.
    function pause() external nonReentrant onlyRole(ADMIN_ROLE) {
        _pause();
    }

    /// @notice Lifts the pause (ADMIN_ROLE).
    function unpause() external nonReentrant onlyRole(ADMIN_ROLE) {
        _unpause();
    }

    /// @notice Sets the treasury (ADMIN_ROLE).
    /// @param newTreasury The new treasury, non-zero.
    function setTreasury(address newTreasury) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasury, newTreasury);
        treasury = newTreasury;
    }

    /// @notice Sets the treasury share of yield (ADMIN_ROLE), at most MAX_TREASURY_FEE_BPS.
    /// @param newBps The new share in basis points.
    function setTreasuryFeeBps(uint16 newBps) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newBps > MAX_TREASURY_FEE_BPS) revert FeeTooHigh(newBps);
        emit TreasuryFeeUpdated(treasuryFeeBps, newBps);
        treasuryFeeBps = newBps;
    }

    /// @notice Grants `role` to `account` (the role's admin role; DEFAULT_ADMIN_ROLE for all).
    /// @param role The role.
    /// @param account The account.
    function grantRole(bytes32 role, address account) public override nonReentrant {
        super.grantRole(role, account);
    }

    /// @notice Revokes `role` from `account` (the role's admin role).
    /// @param role The role.
    /// @param account The account.
    function revokeRole(bytes32 role, address account) public override nonReentrant {
        super.revokeRole(role, account);
    }

    /// @notice Gives up `role`; `callerConfirmation` must be the caller.
    /// @param role The role.
    /// @param callerConfirmation The caller's own address.
    function renounceRole(bytes32 role, address callerConfirmation) public override nonReentrant {
        super.renounceRole(role, callerConfirmation);
    }

    // ---------------------------------------------------------------- views

    /// @notice The deposited asset.
    /// @return token The asset address.
    function asset() external view returns (address token) {
        return address(ASSET);
    }

    /// @notice The active strategies.
    /// @return list Their addresses.
    function strategies() external view returns (address[] memory list) {
        return _strategies;
    }

    /// @notice Idle funds plus everything the strategies report holding.
    /// @return assets The amount in asset units.
    function totalAssets() external view returns (uint256 assets) {
        assets = ASSET.balanceOf(address(this));
        uint256 count = _strategies.length;
        for (uint256 i = 0; i < count; ++i) {
            assets += IYieldStrategy(_strategies[i]).totalAssets();
        }
    }

    /// @notice What the vault owes depositors at most: principal plus unclaimed rewards.
    /// @return liabilities The amount in asset units.
    function totalLiabilities() external view returns (uint256 liabilities) {
        return totalPrincipal + rewardsOutstanding;
    }

    /// @notice A user's principal.
    /// @param account The user.
    /// @return principal The amount.
    function principalOf(address account) external view returns (uint256 principal) {
        return _accounts[account].principal;
    }

    /// @notice A user's accrued, unclaimed rewards.
    /// @param account The user.
    /// @return rewards The amount.
    function pendingRewards(address account) public view returns (uint256 rewards) {
        Account storage acct = _accounts[account];
        uint256 accumulated = (acct.weight * accRewardPerWeight) / _ACC_PRECISION;
        rewards = acct.rewards;
        if (accumulated > acct.rewardDebt) rewards += accumulated - acct.rewardDebt;
    }

    /// @notice Everything a user can withdraw now (principal plus rewards).
    /// @param account The user.
    /// @return amount The amount.
    function owedTo(address account) external view returns (uint256 amount) {
        return _accounts[account].principal + pendingRewards(account);
    }

    /// @notice A user's effective phi score (MIN_PHI_SCORE when never set).
    /// @param account The user.
    /// @return score The score.
    function phiScoreOf(address account) public view returns (uint16 score) {
        score = _accounts[account].phiScore;
        if (score < MIN_PHI_SCORE) score = MIN_PHI_SCORE; // never set
    }

    /// @notice A user's yield boost in basis points (10000 = 1.0x, 20000 = 2.0x).
    /// @param account The user.
    /// @return bps The boost.
    function boostBps(address account) public view returns (uint256 bps) {
        uint256 score = phiScoreOf(account);
        return _BPS + ((score - MIN_PHI_SCORE) * _BPS) / (MAX_PHI_SCORE - MIN_PHI_SCORE);
    }

    /// @notice A user's weight in the reward distribution.
    /// @param account The user.
    /// @return weight Principal times boost.
    function weightOf(address account) external view returns (uint256 weight) {
        return _accounts[account].weight;
    }

    /// @notice When a user may next deposit, withdraw or claim (a past timestamp or 0 = now).
    /// @param account The user.
    /// @return timestamp The earliest timestamp; 0 during the emergency shutdown.
    function nextActionAt(address account) public view returns (uint256 timestamp) {
        if (emergencyShutdown) return 0;
        return _accounts[account].lastActionAt + COOLDOWN;
    }

    // ---------------------------------------------------------------- internals

    function _beginAction(address account) private returns (Account storage acct) {
        uint256 availableAt = nextActionAt(account);
        if (block.timestamp < availableAt) revert CooldownActive(availableAt);
        acct = _accounts[account];
        acct.lastActionAt = uint64(block.timestamp);
        _settle(acct);
    }

    /// @dev Moves accrued rewards into `rewards`. The checkpoint is rounded up when the weight
    /// changes and the accrual rounded down, so the sum over all users never exceeds what was
    /// distributed (no wei-level overdraft of `rewardsOutstanding` or of the vault's balance).
    function _settle(Account storage acct) private {
        uint256 accumulated = (acct.weight * accRewardPerWeight) / _ACC_PRECISION;
        if (accumulated > acct.rewardDebt) {
            acct.rewards += accumulated - acct.rewardDebt;
            acct.rewardDebt = accumulated;
        }
    }

    function _takeRewards(Account storage acct) private returns (uint256 amount) {
        amount = acct.rewards;
        acct.rewards = 0;
        rewardsOutstanding -= amount;
    }

    /// @dev Call after `_settle`: recomputes the weight and re-checkpoints the reward debt.
    function _updateWeight(Account storage acct) private {
        uint256 score = acct.phiScore < MIN_PHI_SCORE ? MIN_PHI_SCORE : acct.phiScore;
        uint256 boost = _BPS + ((score - MIN_PHI_SCORE) * _BPS) / (MAX_PHI_SCORE - MIN_PHI_SCORE);
        uint256 weight = (acct.principal * boost) / _BPS;
        totalWeight = totalWeight - acct.weight + weight;
        acct.weight = weight;
        acct.rewardDebt = Math.mulDiv(weight, accRewardPerWeight, _ACC_PRECISION, Math.Rounding.Ceil);
    }

    function _distribute(address source, uint256 profit) private {
        uint256 toTreasury = (profit * treasuryFeeBps) / _BPS;
        uint256 distributed = profit - toTreasury;
        if (totalWeight == 0) {
            toTreasury = profit;
            distributed = 0;
        } else {
            accRewardPerWeight += (distributed * _ACC_PRECISION) / totalWeight;
            rewardsOutstanding += distributed;
        }
        emit Harvested(source, profit, toTreasury, distributed);
        if (toTreasury != 0) ASSET.safeTransfer(treasury, toTreasury);
    }

    /// @dev Makes sure `amount` is idle (pulling from strategies in list order), then pays it.
    function _pay(address to, uint256 amount) private {
        uint256 count = _strategies.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 idle = ASSET.balanceOf(address(this));
            if (!(idle < amount)) break;
            address strategy = _strategies[i];
            uint256 take = amount - idle;
            uint256 debt = strategyDebt[strategy];
            if (take > debt) take = debt;
            if (take > 0) _withdrawFromStrategy(strategy, take, true);
        }
        uint256 balance = ASSET.balanceOf(address(this));
        if (balance < amount) revert InsufficientLiquidity(balance, amount);
        ASSET.safeTransfer(to, amount);
    }

    function _pullFrom(address strategy, uint256 amount) private returns (uint256 received) {
        uint256 before = ASSET.balanceOf(address(this));
        IYieldStrategy(strategy).withdraw(amount);
        received = ASSET.balanceOf(address(this)) - before;
    }

    /// @dev With `tolerant`, a reverting strategy is skipped (a user's withdrawal then draws on
    /// the other strategies) instead of failing the whole call.
    function _withdrawFromStrategy(address strategy, uint256 amount, bool tolerant) private {
        uint256 before = ASSET.balanceOf(address(this));
        if (tolerant) {
            try IYieldStrategy(strategy).withdraw(amount) {
                _bookWithdrawal(strategy, before);
            } catch {
                emit StrategyRecoveryFailed(strategy);
            }
        } else {
            IYieldStrategy(strategy).withdraw(amount);
            _bookWithdrawal(strategy, before);
        }
    }

    /// @dev Repays the strategy's debt with what actually arrived (never more than the debt).
    function _bookWithdrawal(address strategy, uint256 balanceBefore) private {
        uint256 received = ASSET.balanceOf(address(this)) - balanceBefore;
        uint256 debt = strategyDebt[strategy];
        uint256 repaid = received > debt ? debt : received;
        strategyDebt[strategy] = debt - repaid;
        totalDebt -= repaid;
        emit StrategyFundsReturned(strategy, received, debt - repaid);
    }

    /// @dev Empties a strategy: debt cleared before the call, the outcome booked after it.
    function _recoverAll(address strategy) private returns (uint256 recovered) {
        uint256 debt = strategyDebt[strategy];
        _clearDebt(strategy, debt);
        uint256 before = ASSET.balanceOf(address(this));
        IYieldStrategy(strategy).withdrawAll();
        recovered = ASSET.balanceOf(address(this)) - before;
        _bookRecovery(strategy, debt, recovered);
    }

    function _clearDebt(address strategy, uint256 debt) private {
        strategyDebt[strategy] = 0;
        totalDebt -= debt;
    }

    /// @dev A surplus over the debt is distributed like a harvest; a shortfall is reported.
    function _bookRecovery(address strategy, uint256 debt, uint256 recovered) private {
        emit StrategyFundsReturned(strategy, recovered, 0);
        if (recovered > debt) {
            _distribute(strategy, recovered - debt);
        } else if (recovered < debt) {
            emit StrategyLossReported(strategy, debt - recovered);
        }
    }

    function _writeOffLoss(address strategy, uint256 loss) private {
        strategyDebt[strategy] -= loss;
        totalDebt -= loss;
        emit StrategyLossReported(strategy, loss);
    }

    function _removeStrategy(address strategy) private {
        uint256 count = _strategies.length;
        for (uint256 i = 0; i < count; ++i) {
            if (_strategies[i] == strategy) {
                _strategies[i] = _strategies[count - 1];
                _strategies.pop();
                break;
            }
        }
        isStrategy[strategy] = false;
    }
}
