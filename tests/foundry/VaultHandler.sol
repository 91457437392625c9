// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SphinxYieldAggregator} from "../../contracts/SphinxYieldAggregator.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {MockStrategy} from "../../contracts/test/MockStrategy.sol";
import {Vm} from "./Base.sol";

/// @notice Drives the vault through every action of issue 13 with ghost accounting; the checks
/// that need a before/after view (pro-rata loss, timed deposit, fair withdrawal) run inline.
contract VaultHandler {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant MAX_AMOUNT = 1e30;
    uint256 internal constant FEE_BPS = 1000;

    SphinxYieldAggregator public immutable vault;
    MockERC20 public immutable token;
    address public immutable admin;
    address public immutable operator;
    address public immutable treasury;
    MockStrategy[2] public strategies;
    address[3] public actors = [address(0xA1), address(0xB0), address(0xC0)];

    mapping(address actor => uint256 amount) public ghostDeposited;
    mapping(address actor => uint256 amount) public ghostWithdrawn;
    /// @notice Each actor's share of the profit released while it held shares.
    mapping(address actor => uint256 amount) public ghostFairProfit;
    mapping(bytes32 action => uint256 count) public calls;
    /// @notice Gain put into each strategy minus what was taken from it, per source.
    mapping(address source => int256 net) public ghostNetGain;
    /// @notice High-water mark of `ghostNetGain` (a fee is due only on gain above it).
    mapping(address source => uint256 peak) public ghostPeakGain;
    uint256 public ghostCredited;
    uint256 public ghostReleasedSeen;
    uint256 public ghostTreasuryReceived;
    uint256 public ghostOps;
    /// @notice Rounding allowance: one share's worth (at the dearest price seen, >= 1 wei) per operation.
    uint256 public ghostTolerance;

    error Unexpected(bytes reason);
    error WithdrewTooMuch(address actor, uint256 withdrawn, uint256 deposited, uint256 fairProfit);

    constructor(
        SphinxYieldAggregator vault_,
        MockERC20 token_,
        MockStrategy[2] memory strategies_,
        address admin_,
        address operator_,
        address treasury_
    ) {
        vault = vault_;
        token = token_;
        strategies = strategies_;
        admin = admin_;
        operator = operator_;
        treasury = treasury_;
    }

    modifier step(bytes32 action) {
        _accrue();
        ++calls[action];
        ++ghostOps;
        _;
        ghostTolerance += vault.convertToAssets(1) + 1;
    }

    // ------------------------------------------------------------------ user actions

    function deposit(uint256 actorSeed, uint256 amount) external step("deposit") {
        address actor = actors[actorSeed % actors.length];
        amount = _bound(amount, vault.MIN_FIRST_DEPOSIT(), MAX_AMOUNT);
        if (!_canDeposit(actor) || vault.previewDeposit(amount) == 0) return;
        _deposit(actor, amount);
    }

    function withdraw(uint256 actorSeed, uint256 amount) external step("withdraw") {
        address actor = actors[actorSeed % actors.length];
        uint256 max = vault.maxWithdraw(actor);
        if (max == 0 || block.timestamp < vault.nextActionAt(actor)) return;
        amount = _bound(amount, 1, max);
        if (vault.previewWithdraw(amount) == 0) return;
        VM.prank(actor);
        try vault.withdraw(amount, actor, actor) {
            _paid(actor, amount);
        } catch (bytes memory reason) {
            _allow(reason, SphinxYieldAggregator.InsufficientLiquidity.selector);
        }
    }

    function exit(uint256 actorSeed) external step("exit") {
        address actor = actors[actorSeed % actors.length];
        uint256 shares = vault.balanceOf(actor);
        if (shares == 0 || block.timestamp < vault.nextActionAt(actor) || vault.previewRedeem(shares) == 0) {
            return;
        }
        VM.prank(actor);
        try vault.redeem(shares, actor, actor) returns (uint256 assets) {
            _paid(actor, assets);
        } catch (bytes memory reason) {
            _allow(reason, SphinxYieldAggregator.InsufficientLiquidity.selector);
        }
    }

    /// @notice Deposit timed right before a harvest that realises earlier yield: gains nothing at once.
    function depositBeforeHarvest(uint256 actorSeed, uint256 amount, uint256 strategySeed, uint256 yield_)
        external
        step("depositBeforeHarvest")
    {
        address actor = actors[actorSeed % actors.length];
        MockStrategy strategy = strategies[strategySeed % 2];
        amount = _bound(amount, vault.MIN_FIRST_DEPOSIT(), MAX_AMOUNT);
        if (!_canDeposit(actor) || !_canHarvest(strategy) || vault.previewDeposit(amount) == 0) return;
        _gain(strategy, _bound(yield_, 1, MAX_AMOUNT));
        _deposit(actor, amount);
        _harvest(strategy);
        uint256 value = vault.convertToAssets(vault.balanceOf(actor));
        require(
            value + ghostWithdrawn[actor] <= ghostDeposited[actor] + ghostFairProfit[actor] + ghostTolerance,
            "a timed deposit took yield earned before it"
        );
    }

    // ------------------------------------------------------------------ strategy outcomes

    function gain(uint256 strategySeed, uint256 amount) external step("gain") {
        _gain(strategies[strategySeed % 2], _bound(amount, 1, MAX_AMOUNT));
    }

    /// @notice A loss, booked at once by a harvest; every holder's value must fall by one ratio.
    function loss(uint256 strategySeed, uint256 amount) external step("loss") {
        MockStrategy strategy = strategies[strategySeed % 2];
        uint256 held = token.balanceOf(address(strategy));
        if (held == 0 || !_canHarvest(strategy)) return;
        amount = _bound(amount, 1, held);
        uint256[3] memory before;
        for (uint256 i = 0; i < 3; ++i) before[i] = vault.convertToAssets(vault.balanceOf(actors[i]));
        uint256 assetsBefore = vault.totalAssets();
        token.burn(address(strategy), amount);
        ghostNetGain[address(strategy)] -= int256(amount);
        _harvest(strategy);
        uint256 assetsAfter = vault.totalAssets();
        for (uint256 i = 0; i < 3; ++i) {
            uint256 expected = Math.mulDiv(before[i], assetsAfter + 1, assetsBefore + 1);
            uint256 actual = vault.convertToAssets(vault.balanceOf(actors[i]));
            uint256 diff = actual > expected ? actual - expected : expected - actual;
            require(diff <= 2, "loss not pro rata");
        }
    }

    function harvest(uint256 strategySeed) external step("harvest") {
        MockStrategy strategy = strategies[strategySeed % 2];
        if (!_canHarvest(strategy)) return;
        _harvest(strategy);
    }

    function donateToVault(uint256 amount) external step("donateToVault") {
        amount = _bound(amount, 1, MAX_AMOUNT);
        token.mint(address(vault), amount);
        _addGain(address(vault), amount);
    }

    function setBroken(uint256 strategySeed, bool broken) external step("setBroken") {
        strategies[strategySeed % 2].setBroken(broken);
    }

    // ------------------------------------------------------------------ operator / admin

    function rebalance(uint256 strategySeed, uint256 target) external step("rebalance") {
        MockStrategy strategy = strategies[strategySeed % 2];
        if (vault.paused() || vault.emergencyShutdown() || !vault.isStrategy(address(strategy))) return;
        uint256 debt = vault.strategyDebt(address(strategy));
        target = _bound(target, 0, debt + vault.totalIdle());
        VM.prank(operator);
        try vault.rebalance(address(strategy), target) {}
        catch (bytes memory reason) {
            _allow(reason, MockStrategy.Broken.selector);
        }
    }

    function warp(uint256 seconds_) external step("warp") {
        VM.warp(block.timestamp + _bound(seconds_, 1, 30 days));
    }

    function pause(bool on) external step("pause") {
        if (on == vault.paused()) return;
        VM.prank(admin);
        if (on) vault.pause();
        else vault.unpause();
    }

    function shutdown(uint256 seed) external step("shutdown") {
        if (seed % 8 != 0 || vault.emergencyShutdown()) return;
        // Gains realised by emptying the strategies are released at once: count them whole.
        for (uint256 i = 0; i < 2; ++i) {
            address strategy = address(strategies[i]);
            uint256 held = token.balanceOf(strategy);
            uint256 debt = vault.strategyDebt(strategy);
            if (vault.isStrategy(strategy) && !strategies[i].broken() && held > debt) ghostCredited += held - debt;
        }
        VM.prank(admin);
        vault.activateEmergencyShutdown();
    }

    function forceRemove(uint256 strategySeed) external step("forceRemove") {
        MockStrategy strategy = strategies[strategySeed % 2];
        if (!vault.isStrategy(address(strategy)) || !strategy.broken()) return;
        uint256 lockedBefore = vault.lockedProfit();
        VM.prank(admin);
        vault.forceRemoveStrategy(address(strategy));
        _creditLockedChange(lockedBefore);
    }

    /// @dev Profit newly locked by a booking call is credited; locked profit a booked loss ate is
    /// lost, never released (time does not pass inside one call).
    function _creditLockedChange(uint256 lockedBefore) private {
        uint256 lockedAfter = vault.lockedProfit();
        if (lockedAfter > lockedBefore) ghostCredited += lockedAfter - lockedBefore;
        else ghostCredited -= lockedBefore - lockedAfter;
    }

    function claimFees() external step("claimFees") {
        uint256 fees = vault.feesAccrued();
        if (fees == 0) return;
        VM.prank(treasury);
        vault.claimFees();
        ghostTreasuryReceived += fees;
    }

    // ------------------------------------------------------------------ views for invariants

    function actorCount() external pure returns (uint256) {
        return 3;
    }

    /// @notice The most fee the treasury may have had: FEE_BPS of every source's peak net gain.
    function feeBound() external view returns (uint256 bound) {
        bound = ghostPeakGain[address(vault)];
        for (uint256 i = 0; i < 2; ++i) bound += ghostPeakGain[address(strategies[i])];
        bound = Math.mulDiv(bound, FEE_BPS, 10_000) + ghostTolerance;
    }

    // ------------------------------------------------------------------ internals

    function _deposit(address actor, uint256 amount) private {
        token.mint(actor, amount);
        VM.startPrank(actor);
        token.approve(address(vault), amount);
        vault.deposit(amount, actor);
        VM.stopPrank();
        ghostDeposited[actor] += amount;
    }

    function _paid(address actor, uint256 amount) private {
        ghostWithdrawn[actor] += amount;
        if (ghostWithdrawn[actor] > ghostDeposited[actor] + ghostFairProfit[actor] + ghostTolerance) {
            revert WithdrewTooMuch(actor, ghostWithdrawn[actor], ghostDeposited[actor], ghostFairProfit[actor]);
        }
    }

    function _gain(MockStrategy strategy, uint256 amount) private {
        token.mint(address(strategy), amount);
        _addGain(address(strategy), amount);
    }

    function _addGain(address source, uint256 amount) private {
        int256 net = ghostNetGain[source] + int256(amount);
        ghostNetGain[source] = net;
        if (net > 0 && uint256(net) > ghostPeakGain[source]) ghostPeakGain[source] = uint256(net);
    }

    function _harvest(MockStrategy strategy) private {
        uint256 lockedBefore = vault.lockedProfit();
        VM.prank(operator);
        try vault.harvest(address(strategy)) {
            _creditLockedChange(lockedBefore);
        } catch (bytes memory reason) {
            _allow(reason, MockStrategy.Broken.selector);
        }
    }

    /// @dev Credits each actor with its share of the profit released since the last step.
    function _accrue() private {
        uint256 released = ghostCredited - vault.lockedProfit();
        uint256 delta = released - ghostReleasedSeen;
        ghostReleasedSeen = released;
        uint256 supply = vault.totalSupply();
        if (delta == 0 || supply == 0) return;
        for (uint256 i = 0; i < 3; ++i) {
            ghostFairProfit[actors[i]] += Math.mulDiv(delta, vault.balanceOf(actors[i]), supply, Math.Rounding.Ceil);
        }
    }

    function _canDeposit(address actor) private view returns (bool) {
        return !vault.paused() && !vault.emergencyShutdown() && !(block.timestamp < vault.nextActionAt(actor));
    }

    function _canHarvest(MockStrategy strategy) private view returns (bool) {
        return !vault.paused() && !vault.emergencyShutdown() && vault.isStrategy(address(strategy));
    }

    function _allow(bytes memory reason, bytes4 expected) private pure {
        if (reason.length < 4 || bytes4(reason) != expected) revert Unexpected(reason);
    }

    function _bound(uint256 value, uint256 min, uint256 max) private pure returns (uint256) {
        if (max <= min) return min;
        return min + (value % (max - min + 1));
    }
}
