// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IYieldStrategy} from "./interfaces/IYieldStrategy.sol";

/// @title Sphinx yield aggregator
/// @author Sphinx platform
/// @notice ERC-4626 vault over one ERC-20 asset. Depositors hold shares; every gain and loss
/// moves the share price, so both are shared pro rata. ADMIN_ROLE adds and removes strategies;
/// OPERATOR_ROLE moves funds into them (`rebalance`) and realises their yield (`harvest`).
/// Accounting: `totalAssets` = tracked idle funds + each strategy's debt, valued at the lower of
/// its debt and what it reports (a loss is shared at once, a gain only once harvested) - the
/// profit still locked. Harvested gain first repays the strategy's booked losses (no fee), the
/// rest is profit: the treasury fee accrues (the treasury claims it), and the remainder is
/// released linearly over `profitUnlockTime`, so a deposit timed before a harvest earns nothing
/// it did not wait for. Pause (ADMIN_ROLE or GUARDIAN_ROLE) stops deposits, harvests and
/// rebalances, never withdrawals; the irreversible emergency shutdown empties the strategies,
/// releases locked profit and lifts the per-account cooldown.
contract SphinxYieldAggregator is ERC4626, AccessControlDefaultAdminRules, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role that manages strategies, treasury, fees, unlock time, pause and shutdown.
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN_ROLE");
    /// @notice Role that harvests and rebalances.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Role that may pause, and nothing else (a fast-reacting key or monitor).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Minimum time between two deposits/withdrawals of one account.
    uint256 public constant COOLDOWN = 1 minutes;
    /// @notice Upper bound on active strategies (keeps every loop bounded).
    uint256 public constant MAX_STRATEGIES = 10;
    /// @notice Upper bound on the treasury's share of profit, in basis points.
    uint16 public constant MAX_TREASURY_FEE_BPS = 3000;
    /// @notice Upper bound on the profit release window.
    uint32 public constant MAX_PROFIT_UNLOCK_TIME = 30 days;
    /// @notice Smallest first deposit into an empty vault (with the decimals offset, against
    /// share-price inflation).
    uint256 public constant MIN_FIRST_DEPOSIT = 1e6;
    uint256 private constant _BPS = 10_000;
    uint8 private constant _DECIMALS_OFFSET = 6;

    /// @notice The deposited ERC-20 asset.
    IERC20 public immutable ASSET;
    /// @notice Receiver (and only claimant) of the treasury fees.
    address public treasury;
    /// @notice Treasury share of profit, in basis points.
    uint16 public treasuryFeeBps;
    /// @notice True once the irreversible emergency shutdown has been activated.
    bool public emergencyShutdown;
    /// @notice Window over which harvested profit is released, in seconds.
    uint32 public profitUnlockTime;
    /// @notice When profit was last locked (a harvest or an unlock-time change).
    uint64 public lastReport;
    /// @notice Profit locked at `lastReport`; `lockedProfit()` is what remains of it now.
    uint256 public lockedProfitAtReport;
    /// @notice Asset held idle in the vault for depositors (fees and stray tokens excluded).
    uint256 public totalIdle;
    /// @notice Treasury fees accrued and not yet claimed (held idle, never lent out).
    uint256 public feesAccrued;
    /// @notice Funds currently allocated to strategies (sum of `strategyDebt`).
    uint256 public totalDebt;
    /// @notice Funds allocated to each strategy.
    mapping(address strategy => uint256 debt) public strategyDebt;
    /// @notice Losses booked for each strategy and not yet recovered.
    mapping(address strategy => uint256 loss) public strategyLoss;
    /// @notice True for strategies in the active list.
    mapping(address strategy => bool active) public isStrategy;
    /// @notice Timestamp of each account's last deposit or withdrawal.
    mapping(address account => uint64 timestamp) public lastActionAt;
    address[] private _strategies;

    /// @notice A strategy was added to the active list.
    /// @param strategy The strategy.
    event StrategyAdded(address indexed strategy);
    /// @notice A strategy was removed after its funds came back.
    /// @param strategy The strategy.
    /// @param recovered The amount returned to the vault.
    event StrategyRetired(address indexed strategy, uint256 indexed recovered);
    /// @notice A strategy was removed without calling it; its debt was written off.
    /// @param strategy The strategy.
    /// @param loss The debt written off (shared by every holder).
    event StrategyForceRemoved(address indexed strategy, uint256 indexed loss);
    /// @notice Funds came back from a strategy.
    /// @param strategy The strategy.
    /// @param amount The amount received.
    /// @param debt The strategy's debt afterwards.
    event StrategyFundsReturned(address indexed strategy, uint256 indexed amount, uint256 indexed debt);
    /// @notice A strategy failed to return funds (shutdown or a withdrawal); it stays listed.
    /// @param strategy The strategy.
    event StrategyRecoveryFailed(address indexed strategy);
    /// @notice A strategy's loss was booked (shared by every holder).
    /// @param strategy The strategy.
    /// @param loss The loss.
    event StrategyLossReported(address indexed strategy, uint256 indexed loss);
    /// @notice An operator changed a strategy's allocation.
    /// @param strategy The strategy.
    /// @param oldDebt The allocation before.
    /// @param newDebt The allocation after.
    event Rebalanced(address indexed strategy, uint256 indexed oldDebt, uint256 indexed newDebt);
    /// @notice A gain was realised: booked losses repaid first, then profit (fee taken).
    /// @param strategy The source (the vault itself for tokens sent to it).
    /// @param profit The gain realised (recovery plus profit).
    /// @param treasuryShare The fee accrued to the treasury.
    /// @param distributed The part locked for holders and released over `profitUnlockTime`.
    event Harvested(
        address indexed strategy, uint256 indexed profit, uint256 indexed treasuryShare, uint256 distributed
    );
    /// @notice The treasury claimed its fees.
    /// @param treasury The treasury.
    /// @param amount The amount paid.
    event FeesClaimed(address indexed treasury, uint256 indexed amount);
    /// @notice The treasury address changed.
    /// @param oldTreasury The previous treasury.
    /// @param newTreasury The new treasury.
    event TreasuryUpdated(address indexed oldTreasury, address indexed newTreasury);
    /// @notice The treasury fee changed.
    /// @param oldBps The previous fee in basis points.
    /// @param newBps The new fee in basis points.
    event TreasuryFeeUpdated(uint16 indexed oldBps, uint16 indexed newBps);
    /// @notice The profit release window changed.
    /// @param oldSeconds The previous window.
    /// @param newSeconds The new window.
    event ProfitUnlockTimeUpdated(uint32 indexed oldSeconds, uint32 indexed newSeconds);
    /// @notice Tokens other than the asset were recovered.
    /// @param token The token.
    /// @param to The receiver.
    /// @param amount The amount.
    event Swept(address indexed token, address indexed to, uint256 indexed amount);
    /// @notice The emergency shutdown was activated.
    /// @param by The admin who activated it.
    /// @param recovered The amount pulled back from strategies.
    event EmergencyShutdownActivated(address indexed by, uint256 indexed recovered);

    /// @notice A zero address was given where one is required.
    error ZeroAddress();
    /// @notice A zero amount was given (or it would buy or burn no shares).
    error ZeroAmount();
    /// @notice The account acted less than COOLDOWN ago.
    /// @param availableAt The timestamp from which the account may act again.
    error CooldownActive(uint256 availableAt);
    /// @notice The action is closed because the emergency shutdown is active.
    error EmergencyShutdownActive();
    /// @notice The first deposit into an empty vault is below MIN_FIRST_DEPOSIT.
    /// @param assets The rejected amount.
    error FirstDepositTooSmall(uint256 assets);
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
    /// @notice The window exceeds MAX_PROFIT_UNLOCK_TIME.
    /// @param window The rejected window.
    error UnlockTimeTooLong(uint32 window);
    /// @notice Only the treasury may claim the fees.
    /// @param caller The rejected caller.
    error NotTreasury(address caller);
    /// @notice The vault's own asset cannot be swept.
    /// @param token The rejected token.
    error CannotSweepAsset(address token);

    /// @notice Deploys the vault (shares "Sphinx Yield Vault" / "syvSPX", asset decimals + 6).
    /// @param asset_ The deposited ERC-20 (must be a contract).
    /// @param treasury_ Receiver of the treasury fees.
    /// @param admin_ Receives DEFAULT_ADMIN_ROLE and ADMIN_ROLE.
    /// @param adminDelay_ Delay of a DEFAULT_ADMIN_ROLE transfer, in seconds.
    constructor(address asset_, address treasury_, address admin_, uint48 adminDelay_)
        ERC20("Sphinx Yield Vault", "syvSPX")
        ERC4626(IERC20(asset_))
        AccessControlDefaultAdminRules(adminDelay_, admin_)
    {
        if (asset_.code.length == 0) revert AssetHasNoCode(asset_);
        if (treasury_ == address(0)) revert ZeroAddress();
        ASSET = IERC20(asset_);
        treasury = treasury_;
        treasuryFeeBps = 1000;
        profitUnlockTime = 7 days;
        lastReport = uint64(block.timestamp);
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

    // ---------------------------------------------------------------- user actions (ERC-4626)

    /// @inheritdoc ERC4626
    function deposit(uint256 assets, address receiver)
        public
        override
        nonReentrant
        whenNotPaused
        notShutdown
        returns (uint256 shares)
    {
        return super.deposit(assets, receiver);
    }

    /// @inheritdoc ERC4626
    function mint(uint256 shares, address receiver)
        public
        override
        nonReentrant
        whenNotPaused
        notShutdown
        returns (uint256 assets)
    {
        return super.mint(shares, receiver);
    }

    /// @inheritdoc ERC4626
    function withdraw(uint256 assets, address receiver, address owner)
        public
        override
        nonReentrant
        returns (uint256 shares)
    {
        return super.withdraw(assets, receiver, owner);
    }

    /// @inheritdoc ERC4626
    function redeem(uint256 shares, address receiver, address owner)
        public
        override
        nonReentrant
        returns (uint256 assets)
    {
        return super.redeem(shares, receiver, owner);
    }

    /// @notice Pays every accrued fee to the treasury (only the treasury may call).
    function claimFees() external nonReentrant {
        if (msg.sender != treasury) revert NotTreasury(msg.sender);
        uint256 amount = feesAccrued;
        if (amount == 0) revert ZeroAmount();
        feesAccrued = 0;
        emit FeesClaimed(msg.sender, amount);
        ASSET.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- operator actions

    /// @notice Realises a strategy's gain or books its loss (OPERATOR_ROLE). Tokens sent to the
    /// vault outside deposits are realised as gain too.
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
            uint256 gain = assets - debt;
            uint256 before = ASSET.balanceOf(address(this));
            IYieldStrategy(strategy).withdraw(gain);
            uint256 received = ASSET.balanceOf(address(this)) - before;
            uint256 realized = Math.min(received, gain);
            // More than the gain came back: the excess is principal, it repays debt (never profit).
            if (received > realized) _repay(strategy, received - realized);
            _bookGain(strategy, realized);
        } else if (debt > assets) {
            _bookLoss(strategy, debt - assets);
        }
        uint256 stray = _stray();
        if (stray != 0) _bookGain(address(this), stray);
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
            if (amount > totalIdle) revert InsufficientLiquidity(totalIdle, amount);
            totalIdle -= amount;
            strategyDebt[strategy] = targetDebt;
            totalDebt += amount;
            ASSET.safeTransfer(strategy, amount);
            IYieldStrategy(strategy).deposit(amount);
        } else if (targetDebt < oldDebt) {
            uint256 before = ASSET.balanceOf(address(this));
            IYieldStrategy(strategy).withdraw(oldDebt - targetDebt);
            _bookWithdrawal(strategy, before);
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

    /// @notice Pulls everything back from a strategy and removes it (ADMIN_ROLE). A surplus over
    /// its debt is a gain; a shortfall a shared loss.
    /// @param strategy An active strategy.
    function retireStrategy(address strategy) external nonReentrant onlyRole(ADMIN_ROLE) activeStrategy(strategy) {
        uint256 debt = strategyDebt[strategy];
        _removeStrategy(strategy, debt);
        uint256 before = ASSET.balanceOf(address(this));
        IYieldStrategy(strategy).withdrawAll();
        uint256 recovered = ASSET.balanceOf(address(this)) - before;
        _bookRecovery(strategy, debt, recovered);
    }

    /// @notice Removes a strategy without calling it (ADMIN_ROLE; for one whose withdrawals
    /// revert): its whole debt is written off as a loss shared by every holder.
    /// @param strategy An active strategy.
    function forceRemoveStrategy(address strategy)
        external
        nonReentrant
        onlyRole(ADMIN_ROLE)
        activeStrategy(strategy)
    {
        uint256 debt = strategyDebt[strategy];
        _removeStrategy(strategy, debt);
        delete strategyLoss[strategy];
        _absorbLoss(debt);
        emit StrategyForceRemoved(strategy, debt);
    }

    /// @notice Irreversibly stops deposits and strategy use, pulls all funds back, releases the
    /// locked profit and lifts the cooldown (ADMIN_ROLE; works while paused). A strategy that
    /// fails to pay back stays listed and is reported; retry with `retireStrategy` or give up
    /// with `forceRemoveStrategy`.
    function activateEmergencyShutdown() external nonReentrant onlyRole(ADMIN_ROLE) notShutdown {
        emergencyShutdown = true;
        uint256 recovered = 0;
        for (uint256 i = _strategies.length; i > 0; --i) {
            address strategy = _strategies[i - 1];
            uint256 before = ASSET.balanceOf(address(this));
            // A strategy that reverts must not block the shutdown: catch, report, keep it listed.
            try IYieldStrategy(strategy).withdrawAll() {
                uint256 amount = ASSET.balanceOf(address(this)) - before;
                uint256 debt = strategyDebt[strategy];
                _removeStrategy(strategy, debt);
                _bookRecovery(strategy, debt, amount);
                recovered += amount;
            } catch {
                emit StrategyRecoveryFailed(strategy);
            }
        }
        lockedProfitAtReport = 0;
        lastReport = uint64(block.timestamp);
        emit EmergencyShutdownActivated(msg.sender, recovered);
    }

    /// @notice Pauses deposits, harvests and rebalances (ADMIN_ROLE or GUARDIAN_ROLE).
    /// Withdrawals stay open.
    function pause() external nonReentrant {
        if (!hasRole(ADMIN_ROLE, msg.sender) && !hasRole(GUARDIAN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
        }
        _pause();
    }

    /// @notice Lifts the pause (ADMIN_ROLE only; a guardian cannot).
    function unpause() external nonReentrant onlyRole(ADMIN_ROLE) {
        _unpause();
    }

    /// @notice Sets the treasury (ADMIN_ROLE); fees accrued so far go to whoever claims next.
    /// @param newTreasury The new treasury, non-zero.
    function setTreasury(address newTreasury) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasury, newTreasury);
        treasury = newTreasury;
    }

    /// @notice Sets the treasury share of profit (ADMIN_ROLE), at most MAX_TREASURY_FEE_BPS.
    /// @param newBps The new share in basis points.
    function setTreasuryFeeBps(uint16 newBps) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newBps > MAX_TREASURY_FEE_BPS) revert FeeTooHigh(newBps);
        emit TreasuryFeeUpdated(treasuryFeeBps, newBps);
        treasuryFeeBps = newBps;
    }

    /// @notice Sets the profit release window (ADMIN_ROLE); what is locked now is re-locked
    /// over the new window from now.
    /// @param newSeconds The window, at most MAX_PROFIT_UNLOCK_TIME (0 releases at once).
    function setProfitUnlockTime(uint32 newSeconds) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newSeconds > MAX_PROFIT_UNLOCK_TIME) revert UnlockTimeTooLong(newSeconds);
        lockedProfitAtReport = newSeconds == 0 ? 0 : lockedProfit();
        lastReport = uint64(block.timestamp);
        emit ProfitUnlockTimeUpdated(profitUnlockTime, newSeconds);
        profitUnlockTime = newSeconds;
    }

    /// @notice Sends the vault's whole balance of a token other than the asset to `to` (ADMIN_ROLE).
    /// @param token The token sent here by mistake.
    /// @param to The receiver, non-zero.
    function sweep(address token, address to) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (token == address(ASSET)) revert CannotSweepAsset(token);
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = IERC20(token).balanceOf(address(this));
        if (amount < 1) revert ZeroAmount();
        emit Swept(token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @notice Grants `role` to `account` (the role's admin role; DEFAULT_ADMIN_ROLE for all).
    /// @param role The role (DEFAULT_ADMIN_ROLE only through the two-step transfer).
    /// @param account The account.
    function grantRole(bytes32 role, address account)
        public
        override
        nonReentrant
    {
        super.grantRole(role, account);
    }

    /// @notice Revokes `role` from `account` (the role's admin role).
    /// @param role The role (DEFAULT_ADMIN_ROLE only through the two-step transfer).
    /// @param account The account.
    function revokeRole(bytes32 role, address account)
        public
        override
        nonReentrant
    {
        super.revokeRole(role, account);
    }

    /// @notice Gives up `role`; `account` must be the caller. DEFAULT_ADMIN_ROLE only after a
    /// scheduled transfer to the zero address has waited out the delay.
    /// @param role The role.
    /// @param account The caller's own address.
    function renounceRole(bytes32 role, address account)
        public
        override
        nonReentrant
    {
        super.renounceRole(role, account);
    }

    // ---------------------------------------------------------------- views

    /// @notice Idle funds plus each strategy's debt valued at min(debt, reported assets), minus
    /// the profit still locked.
    /// @return assets The amount in asset units that backs the shares.
    function totalAssets() public view override returns (uint256 assets) {
        assets = totalIdle;
        uint256 unbooked = 0;
        uint256 count = _strategies.length;
        for (uint256 i = 0; i < count; ++i) {
            address strategy = _strategies[i];
            uint256 debt = strategyDebt[strategy];
            uint256 valued = Math.min(debt, IYieldStrategy(strategy).totalAssets());
            assets += valued;
            unbooked += debt - valued;
        }
        // A loss, booked or not yet, is taken from the profit still locked first (as a booked
        // one is in `_absorbLoss`), so locked profit never exceeds what backs it.
        uint256 locked = lockedProfit();
        locked = locked > unbooked ? locked - unbooked : 0;
        assets = assets > locked ? assets - locked : 0;
    }

    /// @notice Profit harvested and not yet released to holders.
    /// @return locked The amount in asset units.
    function lockedProfit() public view returns (uint256 locked) {
        uint256 window = profitUnlockTime;
        uint256 elapsed = block.timestamp - lastReport;
        if (window == 0 || !(elapsed < window)) return 0;
        return Math.mulDiv(lockedProfitAtReport, window - elapsed, window);
    }

    /// @notice The active strategies.
    /// @return list Their addresses.
    function strategies() external view returns (address[] memory list) {
        return _strategies;
    }

    /// @notice When an account may next deposit or withdraw (a past timestamp = now).
    /// @param account The account.
    /// @return timestamp The earliest timestamp; 0 during the emergency shutdown.
    function nextActionAt(address account) public view returns (uint256 timestamp) {
        if (emergencyShutdown) return 0;
        return uint256(lastActionAt[account]) + COOLDOWN;
    }

    /// @inheritdoc ERC4626
    function maxDeposit(address receiver) public view override returns (uint256 assets) {
        return paused() || emergencyShutdown ? 0 : super.maxDeposit(receiver);
    }

    /// @inheritdoc ERC4626
    function maxMint(address receiver) public view override returns (uint256 shares) {
        return paused() || emergencyShutdown ? 0 : super.maxMint(receiver);
    }

    // ---------------------------------------------------------------- internals

    function _decimalsOffset() internal pure override returns (uint8) {
        return _DECIMALS_OFFSET;
    }

    /// @dev Cooldown, first-deposit floor and idle bookkeeping around OpenZeppelin's deposit.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (assets < 1 || shares < 1) revert ZeroAmount();
        if (totalSupply() < 1 && assets < MIN_FIRST_DEPOSIT) revert FirstDepositTooSmall(assets);
        // Only the caller's clock restarts: a deposit made for someone else cannot lock them out.
        _startCooldown(caller);
        totalIdle += assets;
        super._deposit(caller, receiver, assets, shares);
    }

    /// @dev Cooldown and liquidity (pulled from strategies in list order) around OpenZeppelin's
    /// withdraw.
    function _withdraw(address caller, address receiver, address owner, uint256 assets, uint256 shares)
        internal
        override
    {
        if (assets < 1 || shares < 1) revert ZeroAmount();
        // The owner's clock only: a router or spender serving many owners is not rate-limited.
        _startCooldown(owner);
        _gatherIdle(assets);
        totalIdle -= assets;
        super._withdraw(caller, receiver, owner, assets, shares);
    }

    function _startCooldown(address account) private {
        uint256 availableAt = nextActionAt(account);
        if (block.timestamp < availableAt) revert CooldownActive(availableAt);
        lastActionAt[account] = uint64(block.timestamp);
    }

    /// @dev Pulls from strategies until `amount` is idle; a reverting strategy is skipped.
    function _gatherIdle(uint256 amount) private {
        uint256 count = _strategies.length;
        for (uint256 i = 0; i < count && totalIdle < amount; ++i) {
            address strategy = _strategies[i];
            uint256 take = Math.min(amount - totalIdle, strategyDebt[strategy]);
            if (take > 0) _pullTolerant(strategy, take);
        }
        if (totalIdle < amount) revert InsufficientLiquidity(totalIdle, amount);
    }

    /// @dev One strategy withdrawal for `_gatherIdle`; a revert is reported, not propagated.
    function _pullTolerant(address strategy, uint256 take) private {
        uint256 before = ASSET.balanceOf(address(this));
        try IYieldStrategy(strategy).withdraw(take) {
            _bookWithdrawal(strategy, before);
        } catch {
            emit StrategyRecoveryFailed(strategy);
        }
    }

    /// @dev Repays the strategy's debt with what actually arrived (never more than the debt);
    /// anything above stays stray and is realised by the next harvest.
    function _bookWithdrawal(address strategy, uint256 balanceBefore) private {
        uint256 received = ASSET.balanceOf(address(this)) - balanceBefore;
        _repay(strategy, received);
        emit StrategyFundsReturned(strategy, received, strategyDebt[strategy]);
    }

    function _repay(address strategy, uint256 received) private {
        uint256 repaid = Math.min(received, strategyDebt[strategy]);
        strategyDebt[strategy] -= repaid;
        totalDebt -= repaid;
        totalIdle += repaid;
    }

    /// @dev Books an emptied strategy: a shortfall is a loss, a surplus a gain.
    function _bookRecovery(address strategy, uint256 debt, uint256 recovered) private {
        emit StrategyFundsReturned(strategy, recovered, 0);
        emit StrategyRetired(strategy, recovered);
        uint256 repaid = Math.min(recovered, debt);
        totalIdle += repaid;
        if (recovered > debt) {
            _bookGain(strategy, recovered - debt);
        } else if (debt > recovered) {
            _absorbLoss(debt - recovered);
            emit StrategyLossReported(strategy, debt - recovered);
        }
        delete strategyLoss[strategy];
    }

    /// @dev A gain (already idle in the vault): booked losses of `source` are repaid first
    /// (no fee); the fee is taken from the rest; everything but the fee is locked.
    function _bookGain(address source, uint256 gain) private {
        if (gain < 1) return;
        uint256 recovery = Math.min(gain, strategyLoss[source]);
        strategyLoss[source] -= recovery;
        uint256 fee = Math.mulDiv(gain - recovery, treasuryFeeBps, _BPS);
        uint256 credited = gain - fee;
        feesAccrued += fee;
        totalIdle += credited;
        lockedProfitAtReport = lockedProfit() + credited;
        lastReport = uint64(block.timestamp);
        emit Harvested(source, gain, fee, credited);
    }

    function _bookLoss(address strategy, uint256 loss) private {
        strategyDebt[strategy] -= loss;
        totalDebt -= loss;
        strategyLoss[strategy] += loss;
        _absorbLoss(loss);
        emit StrategyLossReported(strategy, loss);
    }

    /// @dev A booked loss is taken from the profit still locked before it reaches the share
    /// price: locked profit is never more than the assets that back it.
    function _absorbLoss(uint256 loss) private {
        uint256 locked = lockedProfit();
        if (locked < 1) return;
        lockedProfitAtReport = locked > loss ? locked - loss : 0;
        lastReport = uint64(block.timestamp);
    }

    /// @dev Asset held by the vault beyond what it accounts for (tokens sent to it directly).
    function _stray() private view returns (uint256) {
        uint256 accounted = totalIdle + feesAccrued;
        uint256 balance = ASSET.balanceOf(address(this));
        return balance > accounted ? balance - accounted : 0;
    }

    function _removeStrategy(address strategy, uint256 debt) private {
        uint256 count = _strategies.length;
        for (uint256 i = 0; i < count; ++i) {
            if (_strategies[i] == strategy) {
                _strategies[i] = _strategies[count - 1];
                _strategies.pop();
                break;
            }
        }
        isStrategy[strategy] = false;
        strategyDebt[strategy] = 0;
        totalDebt -= debt;
    }
}
