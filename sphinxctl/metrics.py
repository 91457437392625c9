"""Every Prometheus metric of sphinxctl, defined once.

The API server, the rate limiter, the store and the chain poller import their metrics from
here; alert rules and dashboards reference these names (a test keeps them in sync).
Metrics live in a dedicated registry so tests and multiple app instances stay independent of
the process-global default registry.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    platform_collector,
    process_collector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PROOF_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

# --- API traffic -------------------------------------------------------------------------
REQUESTS = Counter(
    "sphinxos_requests",
    "HTTP requests handled, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
API_LATENCY = Histogram(
    "sphinxos_api_latency_seconds",
    "HTTP request latency in seconds, by route template and method.",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "sphinxos_errors",
    "Errors by component and kind (5xx responses, RPC failures, backend errors).",
    ["component", "kind"],
    registry=REGISTRY,
)
ACTIVE_USERS = Gauge(
    "sphinxos_active_users",
    "Distinct authenticated subjects seen in the last 5 minutes.",
    registry=REGISTRY,
)

# --- security --------------------------------------------------------------------------
RATE_LIMIT_EXCEEDED = Counter(
    "sphinxos_rate_limit_exceeded",
    "Requests refused with 429 by the rate limiter, by route template.",
    ["route"],
    registry=REGISTRY,
)
RATE_LIMIT_BACKEND_ERRORS = Counter(
    "sphinxos_rate_limit_backend_errors",
    "Rate limiter backend (Redis) errors.",
    registry=REGISTRY,
)
RATE_LIMIT_FALLBACK_ACTIVE = Gauge(
    "sphinxos_rate_limit_fallback_active",
    "1 while the rate limiter runs in its configured failure mode instead of Redis.",
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "sphinxos_auth_failures",
    "Rejected bearer tokens, by reason.",
    ["reason"],
    registry=REGISTRY,
)
SUSPICIOUS_REQUESTS = Counter(
    "sphinxos_suspicious_requests",
    "Rejected inputs the classifier labels as an attack pattern, by category.",
    ["category"],
    registry=REGISTRY,
)
INVALID_REQUESTS = Counter(
    "sphinxos_invalid_requests",
    "Rejected inputs that match no attack class (ordinary 422s: typos, values out of range).",
    registry=REGISTRY,
)

# --- chains and transactions -----------------------------------------------------------
TRANSACTIONS = Counter(
    "sphinxos_transactions",
    "Transactions sent by the platform, by chain, kind and final status.",
    ["chain", "kind", "status"],
    registry=REGISTRY,
)
TRANSACTION_VALUE = Histogram(
    "sphinxos_transaction_value",
    "Value moved, in whole tokens: transactions the platform sends, and mint payments and "
    "vault deposits/withdrawals seen in contract events.",
    ["chain", "kind"],
    buckets=(0.0, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
    registry=REGISTRY,
)
PENDING_TRANSACTIONS = Gauge(
    "sphinxos_pending_transactions",
    "Transactions sent and not yet confirmed, by chain.",
    ["chain"],
    registry=REGISTRY,
)
NODE_HEALTH = Gauge(
    "sphinxos_node_health",
    "1 when the chain's RPC answers with the configured chain id and a fresh head, else 0.",
    ["chain"],
    registry=REGISTRY,
)
BLOCKCHAIN_CONNECTED = Gauge(
    "sphinxos_blockchain_connected",
    "1 when the chain's RPC endpoint is reachable, else 0.",
    ["chain"],
    registry=REGISTRY,
)
GAS_PRICE_GWEI = Gauge(
    "sphinxos_gas_price_gwei",
    "Latest base fee per gas in gwei, by chain.",
    ["chain"],
    registry=REGISTRY,
)
CONTRACT_PAUSED = Gauge(
    "sphinxos_contract_paused",
    "1 while a deployed contract is paused, by chain and contract.",
    ["chain", "contract"],
    registry=REGISTRY,
)
VAULT_SHUTDOWN = Gauge(
    "sphinxos_vault_emergency_shutdown",
    "1 while the yield aggregator is in emergency shutdown, by chain.",
    ["chain"],
    registry=REGISTRY,
)
VAULT_TVL = Gauge(
    "sphinxos_vault_total_assets",
    "Total assets held by the yield aggregator (vault plus strategies), in whole tokens.",
    ["chain"],
    registry=REGISTRY,
)
YIELD_HARVESTED = Counter(
    "sphinxos_yield_harvested",
    "Yield harvested by the aggregator, in whole tokens, by chain.",
    ["chain"],
    registry=REGISTRY,
)

# --- rarity proofs ---------------------------------------------------------------------
PROOF_GENERATION = Histogram(
    "sphinxos_proof_generation_seconds",
    "Time to build a rarity snapshot's Merkle tree and proofs.",
    buckets=_PROOF_BUCKETS,
    registry=REGISTRY,
)
PROOF_VERIFICATION = Histogram(
    "sphinxos_proof_verification_seconds",
    "Time to verify a rarity proof against the on-chain root.",
    buckets=_PROOF_BUCKETS,
    registry=REGISTRY,
)
PROOFS = Counter(
    "sphinxos_proofs",
    "Rarity proofs served, by outcome (verified or failed against the on-chain root).",
    ["outcome"],
    registry=REGISTRY,
)
PROOF_SUCCESS_RATE = Gauge(
    "sphinxos_proof_success_rate",
    "Share of rarity proofs served in the last window that verified against the on-chain root.",
    registry=REGISTRY,
)

# --- database --------------------------------------------------------------------------
DB_POOL_SIZE = Gauge(
    "sphinxos_db_pool_size", "Configured database connection pool size.", registry=REGISTRY
)
DB_POOL_CHECKED_OUT = Gauge(
    "sphinxos_db_pool_checked_out",
    "Database connections currently checked out of the pool.",
    registry=REGISTRY,
)
DB_POOL_OVERFLOW = Gauge(
    "sphinxos_db_pool_overflow",
    "Database connections open beyond the pool size (overflow).",
    registry=REGISTRY,
)
DB_POOL_TIMEOUTS = Counter(
    "sphinxos_db_pool_timeouts",
    "Times a request waited past the pool timeout for a database connection.",
    registry=REGISTRY,
)
DB_QUERY_DURATION = Histogram(
    "sphinxos_db_query_duration_seconds",
    "Database statement duration in seconds, by operation.",
    ["operation"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)

# Metric families alert rules and dashboards must cover (tests check both directions).
ALERTED_FAMILIES: tuple[str, ...] = (
    "sphinxos_requests_total",
    "sphinxos_api_latency_seconds",
    "sphinxos_errors_total",
    "sphinxos_active_users",
    "sphinxos_rate_limit_exceeded_total",
    "sphinxos_rate_limit_backend_errors_total",
    "sphinxos_rate_limit_fallback_active",
    "sphinxos_auth_failures_total",
    "sphinxos_suspicious_requests_total",
    "sphinxos_transactions_total",
    "sphinxos_transaction_value",
    "sphinxos_pending_transactions",
    "sphinxos_node_health",
    "sphinxos_blockchain_connected",
    "sphinxos_gas_price_gwei",
    "sphinxos_contract_paused",
    "sphinxos_vault_emergency_shutdown",
    "sphinxos_vault_total_assets",
    "sphinxos_yield_harvested_total",
    "sphinxos_proof_generation_seconds",
    "sphinxos_proof_verification_seconds",
    "sphinxos_proofs_total",
    "sphinxos_db_pool_size",
    "sphinxos_db_pool_checked_out",
    "sphinxos_db_pool_overflow",
    "sphinxos_db_pool_timeouts_total",
    "sphinxos_db_query_duration_seconds",
)
