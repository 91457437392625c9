"""The Sphinx platform's deployed contracts in operation: reads, writes and events.

  gateway.py       ChainGateway: contract reads and writes on the configured chains (ABI-encoded
                   calls through chains.rpc.ChainClient; reverts decoded by the contracts' errors)
  models.py        what the gateway returns (ChainProbe, TokenInfo, VaultInfo, TxOutcome)
  errors.py        GatewayError: a refused or impossible call, with the HTTP status the API answers
  actions.py       run_audited: a privileged write between a `requested` and a result audit event
  harvests.py      the vault's Harvested events (sphinxos_yield_harvested_total)
  value_events.py  value moved by mints and vault deposits/withdrawals (sphinxos_transaction_value)
  poller.py        ChainPoller: keeps the chain gauges current (the API runs it in the background)

Used by the API, the rarity package and the CLI alike; it never imports `sphinxctl.api`.
"""
