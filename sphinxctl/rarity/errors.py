"""Rarity failures: each names its HTTP status (for the API) and its exit code (for the CLI).

A conflict (409) unless it is something asked for that does not exist (`RarityNotFound`, 404).
"""

from __future__ import annotations

from sphinxctl.errors import ExitCode, SphinxError


class RarityError(SphinxError):
    reference = "rarity-error"
    http_status = 409


class RarityNotFound(RarityError):
    """A job, root, snapshot or token that does not exist."""

    reference = "rarity-not-found"
    http_status = 404


class NothingMinted(RarityError):
    """A snapshot of a collection with no token."""

    reference = "nothing-minted"
    default_hint = "mint at least one token first"


class SnapshotJobBusy(RarityError):
    """Another live job is snapshotting the chain with different options."""

    reference = "snapshot-job-busy"
    default_hint = "wait for the running job (GET its id), then ask again"


class SnapshotJobNotFound(RarityNotFound):
    reference = "snapshot-job-not-found"
    exit_code = ExitCode.USAGE


class RootNotPublished(RarityNotFound):
    reference = "rarity-root-unpublished"


class TokenNotRanked(RarityNotFound):
    reference = "token-not-ranked"


class SnapshotUnknown(RarityNotFound):
    reference = "rarity-snapshot-unknown"


class MulticallMissing(RarityError):
    """The chain has no Multicall3 at the canonical address."""

    reference = "multicall-missing"
    http_status = 503
    exit_code = ExitCode.CHAIN
    default_hint = "on the devnet, `sphinxctl devnet up` places it; public chains carry it"
