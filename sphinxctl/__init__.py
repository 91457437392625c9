"""sphinxctl: the operator toolkit that takes the Sphinx platform to mainnet."""

__version__ = "0.1.0"
