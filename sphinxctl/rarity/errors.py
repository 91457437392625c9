"""Rarity failures: each names its HTTP status (for the API) and its exit code (for the CLI)."""

from __future__ import annotations

from sphinxctl.errors import ExitCode, SphinxError


class RarityError(SphinxError):
    reference = "rarity-error"
    http_status = 409


class NothingMinted(RarityError):
    """A snapshot of a collection with no token."""

    reference = "nothing-minted"
    http_status = 409
    default_hint = "mint at least one token first"


class SnapshotJobNotFound(RarityError):
    reference = "snapshot-job-not-found"
    http_status = 404
    exit_code = ExitCode.USAGE


class SnapshotJobBusy(RarityError):
    """Another live job is snapshotting the chain with different options."""

    reference = "snapshot-job-busy"
    http_status = 409
    default_hint = "wait for the running job (GET its id), then ask again"


class RootNotPublished(RarityError):
    reference = "rarity-root-unpublished"
    http_status = 404


class TokenNotRanked(RarityError):
    reference = "token-not-ranked"
    http_status = 404


class SnapshotUnknown(RarityError):
    reference = "rarity-snapshot-unknown"
    http_status = 404


class MulticallMissing(RarityError):
    """The chain has no Multicall3 at the canonical address."""

    reference = "multicall-missing"
    http_status = 503
    exit_code = ExitCode.CHAIN
    default_hint = "on the devnet, `sphinxctl devnet up` places it; public chains carry it"
