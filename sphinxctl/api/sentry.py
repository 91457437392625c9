"""Scrub Sentry events before they leave the process: no headers, cookies, tokens or keys."""

from __future__ import annotations

from typing import Any

from sphinxctl.api.logs import redact


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Drop request headers, cookies and bodies; mask secret-shaped values everywhere else."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("headers", "cookies", "data", "env"):
            request.pop(key, None)
        if isinstance(request.get("query_string"), str):
            from sphinxctl.api.logs import redact_query

            request["query_string"] = redact_query(request["query_string"])
    scrubbed: dict[str, Any] = redact(event)
    return scrubbed
