// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title SpaceFlight NFT
/// @author Sphinx platform
/// @notice ERC-721 whose tokens carry a phi score (and a rarity tier derived from it). Anyone can
/// mint by paying the tier's fee in the payment token (treasury gets it, minus an optional share
/// for a referrer holding REFERRER_ROLE); MINTER_ROLE (the backend) mints for free to any address.
/// Pause (ADMIN_ROLE or GUARDIAN_ROLE) stops mints and transfers. ADMIN_ROLE sets treasury,
/// fees, referral share, base URI, royalty (EIP-2981), phi bounds and the rarity Merkle root.
/// DEFAULT_ADMIN_ROLE moves only by a two-step, delayed transfer.
contract SpaceFlightNFT is ERC721, ERC2981, AccessControlDefaultAdminRules, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role that manages fees, treasury, URI, royalty, bounds, rarity root and pause.
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN_ROLE");
    /// @notice Role of the backend that mints without payment.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    /// @notice Accounts allowed to receive a referral share (granted by DEFAULT_ADMIN_ROLE).
    bytes32 public constant REFERRER_ROLE = keccak256("REFERRER_ROLE");
    /// @notice Role that may pause, and nothing else.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Lowest value an admin may set as the minimum phi score.
    uint16 public constant PHI_HARD_MIN = 100;
    /// @notice Highest value an admin may set as the maximum phi score.
    uint16 public constant PHI_HARD_MAX = 2000;
    /// @notice Number of rarity tiers (0 common, 1 uncommon, 2 rare, 3 epic, 4 legendary).
    uint8 public constant TIER_COUNT = 5;
    /// @notice Upper bound on the referral share, in basis points.
    uint16 public constant MAX_REFERRAL_BPS = 2000;
    /// @notice Upper bound on the royalty, in basis points.
    uint96 public constant MAX_ROYALTY_BPS = 1000;
    uint256 private constant _BPS = 10_000;

    /// @notice The ERC-20 in which paid mints are charged.
    IERC20 public immutable PAYMENT_TOKEN;
    /// @notice Receiver of mint fees.
    address public treasury;
    /// @notice Current lowest accepted phi score for new mints.
    uint16 public minPhiScore;
    /// @notice Current highest accepted phi score for new mints.
    uint16 public maxPhiScore;
    /// @notice Referrer's share of a paid mint's fee, in basis points.
    uint16 public referralBps;
    /// @notice Merkle root of the published rarity snapshot (zero before the first one).
    bytes32 public rarityRoot;
    uint256 private _minted;
    string private _baseTokenURI;
    uint256[5] private _mintFees;
    mapping(uint256 tokenId => uint16 score) private _phiScores;

    /// @notice A token was minted.
    /// @param tokenId The new token.
    /// @param to Its owner.
    /// @param score Its phi score.
    /// @param tier Its rarity tier.
    /// @param fee The fee paid (0 for a MINTER_ROLE mint).
    /// @param referrer The referrer paid a share (zero when none).
    event Minted(
        uint256 indexed tokenId, address indexed to, uint16 indexed score, uint8 tier, uint256 fee, address referrer
    );
    /// @notice The mint fee of a tier changed.
    /// @param tier The tier.
    /// @param fee The new fee.
    event MintFeeUpdated(uint8 indexed tier, uint256 indexed fee);
    /// @notice The accepted phi range changed.
    /// @param minScore The new minimum.
    /// @param maxScore The new maximum.
    event PhiBoundsUpdated(uint16 indexed minScore, uint16 indexed maxScore);
    /// @notice The referral share changed.
    /// @param bps The new share in basis points.
    event ReferralBpsUpdated(uint16 indexed bps);
    /// @notice The treasury changed.
    /// @param oldTreasury The previous treasury.
    /// @param newTreasury The new treasury.
    event TreasuryUpdated(address indexed oldTreasury, address indexed newTreasury);
    /// @notice The base URI changed.
    /// @param baseURI The new base URI.
    event BaseURIUpdated(string baseURI);
    /// @notice The default royalty changed.
    /// @param receiver The royalty receiver.
    /// @param bps The royalty in basis points.
    event RoyaltyUpdated(address indexed receiver, uint96 indexed bps);
    /// @notice A rarity snapshot root was published.
    /// @param oldRoot The previous root.
    /// @param newRoot The new root.
    event RarityRootUpdated(bytes32 indexed oldRoot, bytes32 indexed newRoot);

    /// @notice A zero address was given where one is required.
    error ZeroAddress();
    /// @notice The phi score is outside [minPhiScore, maxPhiScore].
    /// @param score The rejected score.
    /// @param minScore The current minimum.
    /// @param maxScore The current maximum.
    error PhiScoreOutOfBounds(uint16 score, uint16 minScore, uint16 maxScore);
    /// @notice New bounds are outside [PHI_HARD_MIN, PHI_HARD_MAX] or not increasing.
    /// @param minScore The rejected minimum.
    /// @param maxScore The rejected maximum.
    error InvalidPhiBounds(uint16 minScore, uint16 maxScore);
    /// @notice The tier index is not below TIER_COUNT.
    /// @param tier The rejected tier.
    error InvalidTier(uint8 tier);
    /// @notice The referral share exceeds MAX_REFERRAL_BPS.
    /// @param bps The rejected share.
    error ReferralTooHigh(uint16 bps);
    /// @notice The royalty exceeds MAX_ROYALTY_BPS.
    /// @param bps The rejected royalty.
    error RoyaltyTooHigh(uint96 bps);
    /// @notice The referrer does not hold REFERRER_ROLE, is the minter (or the transaction's
    /// sender), or the minter is itself a referrer.
    /// @param referrer The rejected referrer.
    error InvalidReferrer(address referrer);
    /// @notice The tier's fee is above the caller's `maxFee` (it changed after the mint was sent).
    /// @param fee The current fee.
    /// @param maxFee The caller's limit.
    error FeeAboveMax(uint256 fee, uint256 maxFee);

    /// @notice Deploys the collection.
    /// @param paymentToken_ The ERC-20 charged for paid mints (must be a contract).
    /// @param treasury_ Receiver of mint fees and default royalty receiver.
    /// @param admin_ Receives DEFAULT_ADMIN_ROLE and ADMIN_ROLE.
    /// @param baseURI_ Prefix of token URIs.
    /// @param royaltyBps_ Default royalty in basis points (at most MAX_ROYALTY_BPS).
    /// @param adminDelay_ Delay of a DEFAULT_ADMIN_ROLE transfer, in seconds.
    constructor(
        address paymentToken_,
        address treasury_,
        address admin_,
        string memory baseURI_,
        uint96 royaltyBps_,
        uint48 adminDelay_
    ) ERC721("SpaceFlight", "SFLT") AccessControlDefaultAdminRules(adminDelay_, admin_) {
        if (paymentToken_.code.length == 0 || treasury_ == address(0) || admin_ == address(0)) {
            revert ZeroAddress();
        }
        if (royaltyBps_ > MAX_ROYALTY_BPS) revert RoyaltyTooHigh(royaltyBps_);
        PAYMENT_TOKEN = IERC20(paymentToken_);
        treasury = treasury_;
        _baseTokenURI = baseURI_;
        minPhiScore = 200;
        maxPhiScore = 1000;
        referralBps = 500;
        _mintFees = [uint256(10 ether), 20 ether, 40 ether, 80 ether, 160 ether];
        _setDefaultRoyalty(treasury_, royaltyBps_);
        _grantRole(ADMIN_ROLE, admin_);
    }

    // ---------------------------------------------------------------- minting

    /// @notice Mints a token to the caller, charging the fee of the score's tier (needs an
    /// allowance), at most `maxFee`. With a referrer holding REFERRER_ROLE, `referralBps` of the
    /// fee goes to it.
    /// @param score The token's phi score, within the current bounds.
    /// @param referrer A REFERRER_ROLE holder other than the caller and the transaction's
    /// sender (a referrer cannot itself be referred), or the zero address.
    /// @param maxFee The most the caller accepts to pay (guards against a fee change in flight).
    /// @return tokenId The new token's id.
    function mint(uint16 score, address referrer, uint256 maxFee)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 tokenId)
    {
        uint8 tier = _checkedTier(score);
        uint256 fee = _mintFees[tier];
        if (fee > maxFee) revert FeeAboveMax(fee, maxFee);
        uint256 referralShare = 0;
        if (referrer != address(0)) {
            // On-chain facts only: the referrer is a vetted role holder, is neither the caller nor
            // the transaction's signer, and referrers cannot refer one another. tx.origin is
            // compared, never used to authorise anything.
            // solhint-disable-next-line avoid-tx-origin
            bool self = referrer == msg.sender || referrer == tx.origin;
            if (self || !hasRole(REFERRER_ROLE, referrer) || hasRole(REFERRER_ROLE, msg.sender)) {
                revert InvalidReferrer(referrer);
            }
            referralShare = Math.mulDiv(fee, referralBps, _BPS);
        }
        tokenId = _record(msg.sender, score, tier, fee, referrer);
        if (referralShare != 0) PAYMENT_TOKEN.safeTransferFrom(msg.sender, referrer, referralShare);
        if (fee > referralShare) PAYMENT_TOKEN.safeTransferFrom(msg.sender, treasury, fee - referralShare);
        _safeMint(msg.sender, tokenId);
    }

    /// @notice Mints a token to `to` without payment (MINTER_ROLE, the platform backend).
    /// @param to The receiver.
    /// @param score The token's phi score, within the current bounds.
    /// @return tokenId The new token's id.
    function mintTo(address to, uint16 score)
        external
        nonReentrant
        whenNotPaused
        onlyRole(MINTER_ROLE)
        returns (uint256 tokenId)
    {
        uint8 tier = _checkedTier(score);
        tokenId = _record(to, score, tier, 0, address(0));
        _safeMint(to, tokenId);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Pauses mints and transfers (ADMIN_ROLE or GUARDIAN_ROLE).
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

    /// @notice Sets the treasury that receives mint fees (ADMIN_ROLE).
    /// @param newTreasury The new treasury, non-zero.
    function setTreasury(address newTreasury) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasury, newTreasury);
        treasury = newTreasury;
    }

    /// @notice Sets the mint fee of one tier (ADMIN_ROLE).
    /// @param tier The tier, below TIER_COUNT.
    /// @param fee The fee in payment-token units.
    function setMintFee(uint8 tier, uint256 fee) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (tier > TIER_COUNT - 1) revert InvalidTier(tier);
        _mintFees[tier] = fee;
        emit MintFeeUpdated(tier, fee);
    }

    /// @notice Sets the referrer's share of paid mints (ADMIN_ROLE), at most MAX_REFERRAL_BPS.
    /// @param bps The share in basis points.
    function setReferralBps(uint16 bps) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (bps > MAX_REFERRAL_BPS) revert ReferralTooHigh(bps);
        referralBps = bps;
        emit ReferralBpsUpdated(bps);
    }

    /// @notice Sets the accepted phi range for new mints (ADMIN_ROLE) within
    /// [PHI_HARD_MIN, PHI_HARD_MAX]; existing tokens keep their scores.
    /// @param newMin The new minimum.
    /// @param newMax The new maximum, above the minimum.
    function setPhiBounds(uint16 newMin, uint16 newMax) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (newMin < PHI_HARD_MIN || newMax > PHI_HARD_MAX || !(newMin < newMax)) {
            revert InvalidPhiBounds(newMin, newMax);
        }
        minPhiScore = newMin;
        maxPhiScore = newMax;
        emit PhiBoundsUpdated(newMin, newMax);
    }

    /// @notice Sets the base of token URIs (ADMIN_ROLE).
    /// @param newBaseURI The new base URI.
    function setBaseURI(string calldata newBaseURI) external nonReentrant onlyRole(ADMIN_ROLE) {
        _baseTokenURI = newBaseURI;
        emit BaseURIUpdated(newBaseURI);
    }

    /// @notice Sets the EIP-2981 default royalty (ADMIN_ROLE), at most MAX_ROYALTY_BPS.
    /// @param receiver The royalty receiver, non-zero.
    /// @param bps The royalty in basis points.
    function setDefaultRoyalty(address receiver, uint96 bps) external nonReentrant onlyRole(ADMIN_ROLE) {
        if (bps > MAX_ROYALTY_BPS) revert RoyaltyTooHigh(bps);
        _setDefaultRoyalty(receiver, bps);
        emit RoyaltyUpdated(receiver, bps);
    }

    /// @notice Publishes the Merkle root of a rarity snapshot (ADMIN_ROLE).
    /// @param newRoot The root (OpenZeppelin StandardMerkleTree of (uint256, uint16, uint256)).
    function setRarityRoot(bytes32 newRoot) external nonReentrant onlyRole(ADMIN_ROLE) {
        emit RarityRootUpdated(rarityRoot, newRoot);
        rarityRoot = newRoot;
    }

    /// @notice Grants `role` to `account` (the role's admin role; DEFAULT_ADMIN_ROLE for all).
    /// @param role The role.
    /// @param account The account.
    function grantRole(bytes32 role, address account) public
        override
        nonReentrant
    {
        super.grantRole(role, account);
    }

    /// @notice Revokes `role` from `account` (the role's admin role).
    /// @param role The role.
    /// @param account The account.
    function revokeRole(bytes32 role, address account) public
        override
        nonReentrant
    {
        super.revokeRole(role, account);
    }

    /// @notice Gives up `role`; `callerConfirmation` must be the caller.
    /// @param role The role.
    /// @param callerConfirmation The caller's own address.
    function renounceRole(bytes32 role, address callerConfirmation) public
        override
        nonReentrant
    {
        super.renounceRole(role, callerConfirmation);
    }

    // ---------------------------------------------------------------- views

    /// @notice The ERC-20 charged for paid mints.
    /// @return token Its address.
    function paymentToken() external view returns (address token) {
        return address(PAYMENT_TOKEN);
    }

    /// @notice How many tokens have been minted (token ids run from 1 to this).
    /// @return count The number.
    function totalMinted() external view returns (uint256 count) {
        return _minted;
    }

    /// @notice A token's phi score (reverts for a token that does not exist).
    /// @param tokenId The token.
    /// @return score The score.
    function phiScore(uint256 tokenId) external view returns (uint16 score) {
        _requireOwned(tokenId);
        return _phiScores[tokenId];
    }

    /// @notice A token's rarity tier (reverts for a token that does not exist).
    /// @param tokenId The token.
    /// @return tier 0 common, 1 uncommon, 2 rare, 3 epic, 4 legendary.
    function rarityTier(uint256 tokenId) external view returns (uint8 tier) {
        _requireOwned(tokenId);
        return tierForScore(_phiScores[tokenId]);
    }

    /// @notice The tier a phi score maps to (<400, <600, <800, <950, rest).
    /// @param score The phi score.
    /// @return tier 0 common, 1 uncommon, 2 rare, 3 epic, 4 legendary.
    function tierForScore(uint16 score) public pure returns (uint8 tier) {
        if (score < 400) return 0;
        if (score < 600) return 1;
        if (score < 800) return 2;
        if (score < 950) return 3;
        return 4;
    }

    /// @notice The mint fee of a tier.
    /// @param tier The tier, below TIER_COUNT.
    /// @return fee The fee in payment-token units.
    function mintFee(uint8 tier) external view returns (uint256 fee) {
        if (tier > TIER_COUNT - 1) revert InvalidTier(tier);
        return _mintFees[tier];
    }

    /// @notice Checks a (token id, phi score, rank) leaf against the published rarity root.
    /// Leaf = keccak256(bytes.concat(keccak256(abi.encode(tokenId, phiScore, rank)))), pairs
    /// hashed sorted (OpenZeppelin StandardMerkleTree). False while no root is published.
    /// @param tokenId The token.
    /// @param score The phi score in the snapshot.
    /// @param rank The rank in the snapshot.
    /// @param proof The sibling hashes from leaf to root.
    /// @return valid True when the proof is valid for the current root.
    function verifyRarity(uint256 tokenId, uint16 score, uint256 rank, bytes32[] calldata proof)
        external
        view
        returns (bool valid)
    {
        if (rarityRoot == bytes32(0)) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(tokenId, score, rank))));
        return MerkleProof.verifyCalldata(proof, rarityRoot, leaf);
    }

    /// @notice ERC-165: ERC-721 (+ metadata), ERC-2981, AccessControl and ERC-165 itself.
    /// @param interfaceId The interface id.
    /// @return supported True when supported.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, ERC2981, AccessControlDefaultAdminRules)
        returns (bool supported)
    {
        return super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    function _checkedTier(uint16 score) private view returns (uint8) {
        if (score < minPhiScore || score > maxPhiScore) revert PhiScoreOutOfBounds(score, minPhiScore, maxPhiScore);
        return tierForScore(score);
    }

    function _record(address to, uint16 score, uint8 tier, uint256 fee, address referrer)
        private
        returns (uint256 tokenId)
    {
        tokenId = ++_minted;
        _phiScores[tokenId] = score;
        emit Minted(tokenId, to, score, tier, fee, referrer);
    }

    /// @dev Every mint and transfer passes here: nothing moves while paused.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        _requireNotPaused();
        return super._update(to, tokenId, auth);
    }

    function _baseURI() internal view override returns (string memory) {
        return _baseTokenURI;
    }
}
