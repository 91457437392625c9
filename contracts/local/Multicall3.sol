// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Multicall3 (aggregate3 only) for the local devnet
/// @author Sphinx platform
/// @notice Written here with the same `aggregate3` ABI as the canonical Multicall3 that the
/// public chains carry at 0xcA11bde05977b3631167028862bE2a173976CA11; `sphinxctl devnet up`
/// places this runtime code at that address (anvil_setCode), so batched reads work the same on
/// the devnet as on mainnet. Local-only: never deployed by the deploy plan.
contract Multicall3 {
    /// @notice One call of a batch.
    /// @param target The contract called.
    /// @param allowFailure When false, a failing call reverts the whole batch.
    /// @param callData The ABI-encoded call.
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    /// @notice The outcome of one call.
    /// @param success Whether the call succeeded.
    /// @param returnData Its return data (or revert data).
    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice A call with allowFailure false failed.
    /// @param index Its position in the batch.
    error CallFailed(uint256 index);

    /// @notice Runs every call in order and returns each outcome.
    /// @param calls The batch.
    /// @return returnData One result per call, in the same order.
    function aggregate3(Call3[] calldata calls) external returns (Result[] memory returnData) {
        uint256 length = calls.length;
        returnData = new Result[](length);
        for (uint256 i = 0; i < length; ++i) {
            Call3 calldata call = calls[i];
            // solhint-disable-next-line avoid-low-level-calls
            (bool success, bytes memory data) = call.target.call(call.callData);
            if (!success && !call.allowFailure) revert CallFailed(i);
            returnData[i] = Result(success, data);
        }
    }
}
