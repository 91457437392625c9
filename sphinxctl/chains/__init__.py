"""Chains: the registry over `settings.chains` (explorers, selection), a JSON-RPC client with
timeouts, retries and failover, EIP-1559 fees from `eth_feeHistory`, the deployer's signer, and
the local three-chain anvil devnet.

Nothing heavy is imported here; web3 and eth-account load only in the modules that need them.
"""
