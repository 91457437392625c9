// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SphinxYieldAggregator} from "../../contracts/SphinxYieldAggregator.sol";
import {SpaceFlightNFT} from "../../contracts/SpaceFlightNFT.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {MockStrategy} from "../../contracts/test/MockStrategy.sol";

/// @notice The few Foundry cheatcodes these tests use (forge answers them at this address;
/// forge-std is not vendored: nothing is fetched at run time).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function prank(address sender, address origin) external;
    function startPrank(address sender) external;
    function startPrank(address sender, address origin) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert() external;
    function snapshotState() external returns (uint256 id);
    function revertToState(uint256 id) external returns (bool ok);
    function label(address account, string calldata name) external;
}

/// @notice Shared fixture: a vault over a mock token with two mock strategies, an NFT, and roles.
abstract contract Base {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant UNIT = 1e18;
    uint48 internal constant ADMIN_DELAY = 2 days;

    address internal admin = address(0xA11CE);
    address internal operator = address(0x0B0B);
    address internal guardian = address(0x6A4D);
    address internal treasury = address(0x7EA5);
    address internal alice = address(0xA1);
    address internal bob = address(0xB0);
    address internal carol = address(0xC0);

    MockERC20 internal token;
    SphinxYieldAggregator internal vault;
    MockStrategy internal s1;
    MockStrategy internal s2;
    SpaceFlightNFT internal nft;

    function setUp() public virtual {
        VM.warp(1_700_000_000);
        token = new MockERC20("Mock", "MCK");
        vault = new SphinxYieldAggregator(address(token), treasury, admin, ADMIN_DELAY);
        s1 = new MockStrategy(address(token), address(vault));
        s2 = new MockStrategy(address(token), address(vault));
        nft = new SpaceFlightNFT(address(token), treasury, admin, "ipfs://x/", 500, ADMIN_DELAY);
        VM.startPrank(admin);
        vault.grantRole(vault.OPERATOR_ROLE(), operator);
        vault.grantRole(vault.GUARDIAN_ROLE(), guardian);
        vault.addStrategy(address(s1));
        vault.addStrategy(address(s2));
        nft.grantRole(nft.GUARDIAN_ROLE(), guardian);
        VM.stopPrank();
    }

    function _deposit(address who, uint256 amount) internal returns (uint256 shares) {
        token.mint(who, amount);
        VM.startPrank(who);
        token.approve(address(vault), amount);
        shares = vault.deposit(amount, who);
        VM.stopPrank();
    }

    function _redeemAll(address who) internal returns (uint256 assets) {
        uint256 shares = vault.balanceOf(who);
        VM.prank(who);
        assets = vault.redeem(shares, who, who);
    }

    function _rebalance(MockStrategy strategy, uint256 target) internal {
        VM.prank(operator);
        vault.rebalance(address(strategy), target);
    }

    function _harvest(MockStrategy strategy) internal {
        VM.prank(operator);
        vault.harvest(address(strategy));
    }

    function _later(uint256 seconds_) internal {
        VM.warp(block.timestamp + seconds_);
    }

    function _eq(uint256 a, uint256 b, uint256 tolerance, string memory what) internal pure {
        uint256 diff = a > b ? a - b : b - a;
        require(diff <= tolerance, what);
    }
}
