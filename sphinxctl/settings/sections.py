"""Settings sections other than chains: deployer, contracts, multisig, api, auth, redis,
kubernetes, monitoring, database, devnet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from sphinxctl.settings.base import HexAddress, OptionalSecret, StrictModel, _empty_is_none


class DeployerSettings(StrictModel):
    """The deploying account: a raw key from the environment or an encrypted keystore."""

    private_key: OptionalSecret = None
    keystore_path: Annotated[Path | None, BeforeValidator(_empty_is_none)] = None
    keystore_password: OptionalSecret = None

    @field_validator("private_key")
    @classmethod
    def _real_key(cls, value: SecretStr | None) -> SecretStr | None:
        """A raw key must be a valid secp256k1 scalar (not 0x1234, zero, or >= the order)."""
        if value is not None:
            from sphinxctl.validation import check_private_key

            check_private_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DeployerSettings:
        if self.private_key is not None and self.keystore_path is not None:
            raise ValueError("set either private_key or keystore_path, not both")
        return self


class ContractsSettings(StrictModel):
    """Constructor parameters and role holders of the platform's contracts."""

    treasury: HexAddress
    spx_token: dict[str, HexAddress] = Field(
        default_factory=dict, description="SPX token per chain; empty on devnet (deployed there)"
    )
    deploy_local_token: bool = Field(
        default=False, description="Deploy a DevnetSPX stand-in (only allowed on env local)"
    )
    phi_min: int = Field(default=200, ge=1)
    phi_max: int = Field(default=1000, le=10_000)
    base_uri: str = "https://nft.sphinx.example/meta/"
    royalty_bps: int = Field(default=500, ge=0, le=1000)
    operators: list[HexAddress] = Field(default_factory=list)
    minters: list[HexAddress] = Field(default_factory=list)
    guardians: list[HexAddress] = Field(
        default_factory=list, description="GUARDIAN_ROLE holders on both contracts (may pause only)"
    )
    admin_transfer_delay_seconds: int = Field(
        default=2 * 24 * 3600,
        ge=0,
        lt=2**48,
        description="Delay of a two-step DEFAULT_ADMIN_ROLE transfer, in seconds",
    )

    @model_validator(mode="after")
    def _bounds(self) -> ContractsSettings:
        if self.phi_min >= self.phi_max:
            raise ValueError("phi_min must be below phi_max")
        return self


class MultisigSettings(StrictModel):
    """The Safe that receives admin roles, and what it must look like."""

    safes: dict[str, HexAddress] = Field(default_factory=dict, description="Safe per chain")
    owners: list[HexAddress] = Field(default_factory=list)
    threshold: int = Field(default=2, ge=1)


class RateLimitRule(StrictModel):
    """A token bucket: `capacity` tokens, refilled at `refill_per_second`."""

    capacity: int = Field(gt=0)
    refill_per_second: float = Field(gt=0)


class ApiSettings(StrictModel):
    """The embedded API server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    docs_enabled: bool | None = Field(
        default=None, description="/docs and /openapi.json; None = on except in mainnet"
    )
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    trusted_proxies: list[str] = Field(default_factory=list)
    default_rate_limit: RateLimitRule = RateLimitRule(capacity=60, refill_per_second=1.0)
    rate_limits: dict[str, RateLimitRule] = Field(
        default_factory=dict,
        description="Per route template, e.g. 'POST /api/v1/nfts/{chain}/mint'",
    )
    role_rate_limits: dict[str, RateLimitRule] = Field(default_factory=dict)
    sentry_dsn: OptionalSecret = None
    signer_key: OptionalSecret = Field(
        default=None, description="Key the API sends transactions with; default: the deployer's"
    )
    minter_key: OptionalSecret = Field(
        default=None, description="Key (MINTER_ROLE) the API mints with; default: signer_key"
    )
    guardian_key: OptionalSecret = Field(
        default=None,
        description="Key holding GUARDIAN_ROLE the API pauses with (it can pause, nothing else)",
    )
    base_url: str | None = Field(default=None, description="Where checks reach the running API")
    chain_poll_seconds: float = Field(
        default=15.0, gt=0, le=3600, description="How often the chain gauges are refreshed"
    )


class AuthKey(StrictModel):
    """One signing key of the key set, selected by `kid`."""

    kid: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    algorithm: Literal["HS256", "EdDSA", "ES256"]
    secret: OptionalSecret = Field(default=None, description="HS256 shared secret")
    secret_path: Path | None = Field(default=None, description="HS256 secret file (0600)")
    private_key_path: Path | None = None
    public_key_path: Path | None = None
    retired: bool = False


class AuthSettings(StrictModel):
    """JWT issuance and verification (RFC 8725)."""

    issuer: str
    audience: str
    algorithms: list[Literal["HS256", "EdDSA", "ES256"]] = Field(min_length=1)
    active_kid: str
    keys: list[AuthKey] = Field(min_length=1)
    token_ttl_seconds: int = Field(default=3600, gt=0, le=30 * 86400)
    max_token_ttl_seconds: int = Field(
        default=86400, gt=0, le=30 * 86400, description="Longest lifetime issued or accepted"
    )
    leeway_seconds: int = Field(default=10, ge=0, le=30)
    key_dir: Path = Path(".sphinxctl/keys")
    token_cache_size: int = Field(
        default=10_000, ge=0, le=1_000_000, description="Verified tokens kept per process"
    )
    token_cache_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="How long a verified token is kept"
    )
    revocation_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="While Redis is unreachable, accept a token Redis confirmed unrevoked at "
        "most this long before it last answered (0: refuse every token until Redis answers)",
    )
    revocation_outage_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="After this long without Redis, refuse every token (revocation unknown)",
    )

    @model_validator(mode="after")
    def _ttl_bounds(self) -> AuthSettings:
        if self.token_ttl_seconds > self.max_token_ttl_seconds:
            raise ValueError("token_ttl_seconds must not exceed max_token_ttl_seconds")
        return self


class RedisSettings(StrictModel):
    """Redis for rate limiting and token revocation."""

    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    failure_mode: Literal["open", "closed", "local"] = "local"
    replicas: int = Field(
        default=1,
        ge=1,
        description="API processes sharing the limits until the first replica heartbeat "
        "answers (then the live count registered in Redis is used)",
    )
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How often each API process registers in Redis"
    )
    max_connections: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Redis connections per process; callers beyond it queue for one",
    )
    timeout_seconds: float = Field(default=0.5, gt=0)
    reconnect_interval_seconds: float = Field(
        default=1.0, gt=0, description="While Redis is down, how often to try it again"
    )


class ResourceSettings(StrictModel):
    cpu_request: str = "250m"
    cpu_limit: str = "1"
    memory_request: str = "256Mi"
    memory_limit: str = "512Mi"


class KubernetesSettings(StrictModel):
    """The Kubernetes stack `sphinxctl infra` creates."""

    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = Field(default="sphinx", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    image: str = Field(
        default="",
        description="The API image, repo@sha256:<digest> (required outside local); empty on "
        "local: the one `nox -s image` recorded in build/image.json",
    )
    hpa_min_replicas: int = Field(default=10, ge=1)
    hpa_max_replicas: int = Field(default=50, ge=1)
    hpa_cpu_target_percent: int = Field(default=70, ge=1, le=100)
    domain: str = "api.sphinx.example"
    tls_issuer: str = "letsencrypt-prod"
    ingress_class: str = "nginx"
    resources: ResourceSettings = ResourceSettings()
    postgres_image: str = "postgres:16.4"
    postgres_storage: str = "20Gi"
    redis_image: str = "redis:7.4.1"
    storage_class: str | None = None
    backup_schedule: str = "0 3 * * *"
    backup_retention_days: int = Field(default=14, ge=1)

    @model_validator(mode="after")
    def _hpa_bounds(self) -> KubernetesSettings:
        if self.hpa_min_replicas > self.hpa_max_replicas:
            raise ValueError("hpa_min_replicas must not exceed hpa_max_replicas")
        return self


class AlertReceivers(StrictModel):
    """Where Alertmanager sends alerts; each URL or key comes from the environment (a Secret)."""

    webhook_url: OptionalSecret = Field(default=None, description="Every alert, as JSON")
    pagerduty_routing_key: OptionalSecret = Field(default=None, description="Critical alerts")
    slack_api_url: OptionalSecret = Field(default=None, description="Warnings, per team channel")
    slack_channel_prefix: str = "#sphinx-"
    group_wait: str = Field(default="30s", description="Wait before the first notification")
    group_interval: str = Field(default="5m", description="Wait before notifying on changes")
    repeat_interval: str = Field(default="4h", description="Resend a still-firing alert")


class MonitoringSettings(StrictModel):
    prometheus_image: str = "prom/prometheus:v2.54.1"
    grafana_image: str = "grafana/grafana:11.2.2"
    alertmanager_image: str = "prom/alertmanager:v0.27.0"
    postgres_exporter_image: str = "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"
    redis_exporter_image: str = "oliver006/redis_exporter:v1.62.0"
    kube_state_metrics_image: str = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"
    grafana_admin_password: OptionalSecret = None
    retention: str = "15d"
    scrape_interval: str = "15s"
    evaluation_interval: str | None = Field(
        default=None, description="Rule evaluation interval [default: scrape_interval]"
    )
    receivers: AlertReceivers = AlertReceivers()


class RolloutSettings(StrictModel):
    """`sphinxctl infra rollout`: canary steps, pause per step, and the metric gates."""

    steps: list[int] = Field(default=[10, 50, 100], min_length=1, max_length=10)
    pause_seconds: float = Field(default=300.0, gt=0, description="Analysis window per step")
    prometheus_url: str = Field(
        default="http://127.0.0.1:9090", description="Prometheus' HTTP API (port-forward it)"
    )
    stable_selector: str = 'job="sphinx-api",pod!~"sphinx-api-canary-.*"'
    canary_selector: str = 'job="sphinx-api",pod=~"sphinx-api-canary-.*"'
    max_error_ratio_increase: float = Field(
        default=0.01, ge=0, le=1, description="Canary 5xx ratio may exceed the stable's by this"
    )
    max_p99_ratio: float = Field(
        default=1.5, ge=1, description="Canary p99 latency may be this multiple of the stable's"
    )
    p99_tolerance_seconds: float = Field(
        default=0.05, ge=0, description="Slack on the p99 gate (histogram buckets are coarse)"
    )
    min_requests: int = Field(
        default=20, ge=0, description="Fewer canary requests in a window fail the analysis"
    )
    ready_timeout_seconds: float = Field(default=300.0, gt=0)
    query_timeout_seconds: float = Field(default=5.0, gt=0)
    query_attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _steps_climb_to_100(self) -> RolloutSettings:
        if any(not 0 < s <= 100 for s in self.steps) or self.steps != sorted(set(self.steps)):
            raise ValueError("rollout.steps must be increasing percentages in 1..100")
        if self.steps[-1] != 100:
            raise ValueError("rollout.steps must end at 100")
        return self


class DatabaseSettings(StrictModel):
    """Audit trail, rarity snapshots and transactions. SQLite file when url is unset."""

    url: OptionalSecret = None
    sqlite_path: Path = Path(".sphinxctl/sphinx.db")
    pool_size: int = Field(default=5, ge=1, le=200)
    max_overflow: int = Field(default=5, ge=0, le=200)
    pool_timeout_seconds: float = Field(default=5.0, gt=0)
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="SQLite serialises writers with a file lock; how long a writer waits for it",
    )


class DevnetSettings(StrictModel):
    """The local three-chain anvil devnet."""

    state_dir: Path = Path(".sphinxctl/devnet")
    block_time: float | None = Field(default=None, ge=0, description="None = automine")
    accounts: int = Field(default=10, ge=1, le=100)
    balance_ether: int = Field(default=10_000, gt=0)
