"""Consistent JSON error bodies: every failure the API returns has the same shape.

`{"error": <kebab-case reference>, "message": ..., "hint"?: ..., "details"?: ..., "request_id"}`.
SphinxErrors from the domain packages map to HTTP statuses here, in one place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sphinxctl.errors import (
    AuthError,
    ChainError,
    CompileError,
    ConfigError,
    PreflightError,
    SphinxError,
    StoreError,
    TransactionError,
    UsageError,
)


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(description="Stable kebab-case reference of the failure")
    message: str = Field(description="What went wrong")
    hint: str | None = Field(default=None, description="What to do about it")
    details: dict[str, Any] | None = None
    request_id: str | None = Field(default=None, description="Echo of the X-Request-ID header")


class ApiProblem(SphinxError):
    """A failure with a definite HTTP status (404 unknown token, 409 paused contract, ...)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reference: str,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, reference=reference, details=details)
        self.status = status
        self.headers = headers or {}


def status_for(exc: SphinxError) -> int:
    """The HTTP status a domain error maps to."""
    if isinstance(exc, ApiProblem):
        return exc.status
    declared = getattr(exc, "http_status", None)  # a domain error that names its own status
    if isinstance(declared, int):
        return declared
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, TransactionError | PreflightError):
        return 409  # the chain refused the action in its current state
    if isinstance(exc, ChainError | CompileError):
        return 503  # an RPC endpoint is unreachable, or the contracts are not compiled here
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, ConfigError):
        return 500
    return 500


def error_body(exc: SphinxError, request_id: str | None) -> dict[str, Any]:
    """The JSON body for a domain error (the CLI's exit code is of no use to an API client)."""
    body = exc.to_dict()
    body.pop("exit_code", None)
    body["request_id"] = request_id
    return body


def problem_body(
    reference: str,
    message: str,
    request_id: str | None,
    *,
    hint: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": reference, "message": message, "request_id": request_id}
    if hint:
        body["hint"] = hint
    if details:
        body["details"] = details
    return body


_HTTP_REFERENCES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


def reference_for_status(status: int) -> str:
    return _HTTP_REFERENCES.get(status, f"http-{status}")


def _error_response(status: int, description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# OpenAPI `responses` entries shared by the routes.
BAD_REQUEST: dict[int | str, Any] = {400: _error_response(400, "The body is not readable JSON")}
UNAUTHORIZED: dict[int | str, Any] = {
    401: _error_response(401, "Missing, malformed, expired or revoked bearer token")
}
FORBIDDEN: dict[int | str, Any] = {
    403: _error_response(403, "The token's role lacks the permission")
}
NOT_FOUND: dict[int | str, Any] = {404: _error_response(404, "Unknown chain, contract or token")}
INVALID: dict[int | str, Any] = {422: _error_response(422, "The request failed validation")}
RATE_LIMITED: dict[int | str, Any] = {
    429: {
        "model": ErrorBody,
        "description": "Rate limit exceeded; retry after the number of seconds given",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": {"type": "integer", "minimum": 0},
            }
        },
    }
}
CONFLICT: dict[int | str, Any] = {
    409: _error_response(409, "The chain refused the action in its current state")
}
UNAVAILABLE: dict[int | str, Any] = {
    503: _error_response(503, "A chain RPC endpoint or the database is unavailable")
}
TOO_LARGE: dict[int | str, Any] = {
    413: _error_response(413, "Request body larger than the configured limit")
}

PUBLIC: dict[int | str, Any] = {**INVALID, **RATE_LIMITED}
PROTECTED: dict[int | str, Any] = {**UNAUTHORIZED, **FORBIDDEN, **INVALID, **RATE_LIMITED}
