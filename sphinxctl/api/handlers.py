"""Exception handlers: every error leaves the API as the same JSON body (see errors.ErrorBody)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sphinxctl import metrics
from sphinxctl.api.errors import (
    ApiProblem,
    error_body,
    problem_body,
    reference_for_status,
    status_for,
)
from sphinxctl.api.logs import ERROR_LOGGER
from sphinxctl.api.middleware import request_id_of, route_template
from sphinxctl.errors import SphinxError

_log = logging.getLogger(ERROR_LOGGER)


def _request_id(request: Request) -> str | None:
    return request_id_of(request.scope)


async def sphinx_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SphinxError)
    status = status_for(exc)
    headers = dict(exc.headers) if isinstance(exc, ApiProblem) else {}
    if status == 503:
        headers.setdefault("Retry-After", "5")
    if status >= 500:
        component = "store" if exc.reference.startswith("store") else "api"
        metrics.ERRORS.labels(component=component, kind=exc.reference).inc()
        _log.warning(
            exc.message,
            extra={
                "fields": {
                    "request_id": _request_id(request),
                    "error": exc.reference,
                    "route": route_template(request.scope),
                }
            },
        )
    return JSONResponse(error_body(exc, _request_id(request)), status_code=status, headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    from sphinxctl.validation import record_rejection

    raw = list(exc.errors())
    category = record_rejection(raw)
    errors = [_public_error(e) for e in raw[:20]]
    body = problem_body(
        "validation-failed",
        _summary(errors),
        _request_id(request),
        details={"errors": errors, "category": category},
    )
    return JSONResponse(body, status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else reference_for_status(exc.status_code)
    body = problem_body(reference_for_status(exc.status_code), message, _request_id(request))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _public_error(error: dict[str, Any]) -> dict[str, Any]:
    """Where and why, never the offending input (it may be a secret or an attack string)."""
    loc = [str(part) for part in error.get("loc", ())]
    return {"loc": loc, "msg": str(error.get("msg", "invalid")), "type": str(error.get("type"))}


def _summary(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "the request failed validation"
    first = errors[0]
    where = ".".join(first["loc"]) or "request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def install(app: FastAPI) -> None:
    app.add_exception_handler(SphinxError, sphinx_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
