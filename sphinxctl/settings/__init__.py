"""Configuration: pydantic-settings models and the loader for environments/*.yaml."""

from sphinxctl.settings.chains import ChainSettings
from sphinxctl.settings.loader import LoadedSettings, MissingVariable, load_settings
from sphinxctl.settings.model import Settings

__all__ = [
    "ChainSettings",
    "LoadedSettings",
    "MissingVariable",
    "Settings",
    "load_settings",
]
