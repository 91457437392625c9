"""Failures of the platform's contract calls: each names the HTTP status the API answers."""

from __future__ import annotations

from typing import Any

from sphinxctl.errors import SphinxError


class GatewayError(SphinxError):
    """A contract read or write that cannot go ahead: unknown chain, contract not deployed or
    token missing (404), refused by the contract (409), no signing key or fees above the
    ceiling (503). The CLI renders it like any error (exit code 1)."""

    reference = "gateway-error"

    def __init__(
        self,
        http_status: int,
        message: str,
        *,
        reference: str,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, reference=reference, details=details)
        self.http_status = http_status
