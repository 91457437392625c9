"""Configuration: pydantic-settings models and the loader for environments/*.yaml."""

from sphinxctl.settings.chains import ChainSettings
from sphinxctl.settings.loader import LoadedSettings, MissingVariable, default_env, load_settings
from sphinxctl.settings.model import Settings

__all__ = [
    "ChainSettings",
    "LoadedSettings",
    "MissingVariable",
    "Settings",
    "default_env",
    "load_settings",
]
