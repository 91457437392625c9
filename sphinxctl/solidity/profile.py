"""The pinned compiler profile: version, optimizer, EVM target, outputs, compilation units.

EVM target: **cancun**. It is the newest fork whose opcodes Ethereum (Dencun, March 2024),
Polygon PoS (Napoli, 2024: PUSH0, MCOPY, TLOAD/TSTORE) and Arbitrum One (ArbOS 20 "Atlas",
2024) all execute, and it is also the oldest one we can use: OpenZeppelin 5.x `Bytes`/`Strings`
use `mcopy` in inline assembly, which solc only accepts from cancun on. solc 0.8.37's own
default (osaka) may emit CLZ, which the L2/sidechain execution clients do not all run yet, and
prague adds nothing solc's code generation uses, so cancun is the safe common denominator.

Optimizer: on, 200 runs (the usual balance of deployment vs call cost; both contracts stay far
below the 24 KiB EIP-170 limit). viaIR is off: the legacy pipeline is what Slither and every
block explorer's verifier handle best.
"""

from __future__ import annotations

from typing import Any

COMPILER_VERSION = "0.8.37"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

CONTRACTS_DIR = "contracts"
TEST_CONTRACTS_DIR = "contracts/test"
BUILD_DIR = "build"
ARTIFACTS_DIR = "build/artifacts"
TEST_ARTIFACTS_DIR = "build/artifacts-test"

# Per contract: what an artifact needs. (Slither asks for its own outputs, see `analysis`.)
CONTRACT_OUTPUTS = [
    "abi",
    "metadata",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]


def compiler_settings(outputs: list[str] | None = None) -> dict[str, Any]:
    """The `settings` object of the standard-JSON input (part of the cache key)."""
    return {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "evmVersion": EVM_VERSION,
        "metadata": {"bytecodeHash": "ipfs"},
        "outputSelection": {"*": {"*": list(outputs or CONTRACT_OUTPUTS)}},
    }
