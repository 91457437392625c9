// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Devnet SPX
/// @author Sphinx platform
/// @notice Stand-in for the SPX token on the local devnet only: anyone may mint (a faucet).
/// Never deploy it to a public chain; the deploy code only uses it for the `local` environment.
contract DevnetSPX is ERC20 {
    /// @notice Deploys the token and mints the initial supply.
    /// @param initialHolder Receives `initialSupply`.
    /// @param initialSupply The amount minted at deployment (18 decimals).
    constructor(address initialHolder, uint256 initialSupply) ERC20("Sphinx Devnet Token", "SPX") {
        _mint(initialHolder, initialSupply);
    }

    /// @notice Devnet faucet: mints `amount` to `to`, open to anyone.
    /// @param to The receiver.
    /// @param amount The amount (18 decimals).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
