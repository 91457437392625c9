"""The root settings model of one environment."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sphinxctl.settings.chains import ChainSettings
from sphinxctl.settings.sections import (
    ApiSettings,
    AuthSettings,
    ContractsSettings,
    DatabaseSettings,
    DeployerSettings,
    DevnetSettings,
    KubernetesSettings,
    MonitoringSettings,
    MultisigSettings,
    RedisSettings,
    RolloutSettings,
)

ENV_PREFIX = "SPHINXCTL_"


class Settings(BaseSettings):
    """Everything sphinxctl knows about one environment (local, testnet, mainnet).

    Values come from `environments/<env>.yaml` (after `${VAR}` substitution), overridden by
    `SPHINXCTL_<SECTION>__<KEY>` environment variables.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    chains: dict[str, ChainSettings] = Field(min_length=1)
    deployer: DeployerSettings = DeployerSettings()
    contracts: ContractsSettings
    multisig: MultisigSettings = MultisigSettings()
    api: ApiSettings = ApiSettings()
    auth: AuthSettings
    redis: RedisSettings = RedisSettings()
    kubernetes: KubernetesSettings = KubernetesSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    database: DatabaseSettings = DatabaseSettings()
    devnet: DevnetSettings = DevnetSettings()
    rollout: RolloutSettings = RolloutSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables override the YAML file (passed as init kwargs).
        return (env_settings, init_settings)

    @model_validator(mode="before")
    @classmethod
    def _chain_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("chains"), dict):
            for key, chain in data["chains"].items():
                if isinstance(chain, dict):
                    chain.setdefault("name", key)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for key, chain in self.chains.items():
            if chain.name != key:
                raise ValueError(f"chains.{key}.name must equal its key {key!r}")
        if self.contracts.deploy_local_token and self.environment != "local":
            raise ValueError("contracts.deploy_local_token is only allowed in env local")
        kids = [key.kid for key in self.auth.keys]
        if self.auth.active_kid not in kids:
            raise ValueError(f"auth.active_kid {self.auth.active_kid!r} is not in auth.keys")
        if len(set(kids)) != len(kids):
            raise ValueError("auth.keys has duplicate kid values")
        return self

    def chain(self, name: str) -> ChainSettings:
        """The chain called `name`; ConfigError naming the known chains otherwise."""
        from sphinxctl.errors import ConfigError

        try:
            return self.chains[name]
        except KeyError:
            known = ", ".join(self.chains)
            raise ConfigError(
                f"unknown chain {name!r} in environment {self.environment!r}",
                hint=f"use one of: {known}",
            ) from None
