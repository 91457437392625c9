"""The CLI's door to the audit trail (`store.audit_trail` holds the recording itself): the
environment's store, checked to accept events before the action.

    with ready_store(state, refusing="no token was issued") as store:
        issued = issue(...)
        record_token_issued(store, issued.claims)   # raises -> the token is never printed
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sphinxctl.store.audit_trail import (
    OPERATOR_ROLE,
    ensure_recordable,
    local_operator,
    record_revocation,
    record_token_issued,
    refused,
    revoke_target,
)

if TYPE_CHECKING:
    from sphinxctl.cli.context import CliState
    from sphinxctl.store import Store

__all__ = [
    "OPERATOR_ROLE",
    "ensure_recordable",
    "local_operator",
    "ready_store",
    "record_revocation",
    "record_token_issued",
    "refused",
    "revoke_target",
]


def ready_store(state: CliState, *, refusing: str) -> Store:
    """The environment's store (PostgreSQL when database.url is set, else the SQLite file),
    checked to accept audit events. Use it as a context manager (it is closed on exit)."""
    from sphinxctl.cli.db import open_store

    store = open_store(state)
    try:
        ensure_recordable(store, refusing)
    except BaseException:
        store.close()
        raise
    return store
