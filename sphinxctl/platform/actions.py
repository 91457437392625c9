"""Privileged actions (mint, pause, unpause, emergency shutdown, rarity publish): audited and
recorded so that an action is never performed without a trace.

Order: the audit event `requested` is appended first (database down -> 503, nothing sent);
the transaction is recorded as pending right after its broadcast; the final status and an
audit event with the result follow. If the database fails after the broadcast, the error
(a StoreError: the API answers 503) names the transaction hash, and the `requested` event
already names the action. Each step is also a structured line on the audit logger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sphinxctl.errors import SphinxError, StoreError

if TYPE_CHECKING:
    from sphinxctl.auth import Claims
    from sphinxctl.platform.models import TxOutcome
    from sphinxctl.store import Store

AUDIT_LOGGER = "sphinxctl.api.audit"  # JSON lines by the API's log formatter
_log = logging.getLogger(AUDIT_LOGGER)
Perform = Callable[[Callable[[str], None]], "TxOutcome"]


class HasStore(Protocol):
    """Whatever holds the store (the API's services)."""

    @property
    def store(self) -> Store: ...


def log_event(logger_name: str, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Emit one structured line (its fields are redacted by the formatter)."""
    logger = logging.getLogger(logger_name)
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"fields": fields})


def run_audited(
    services: HasStore,
    claims: Claims,
    *,
    action: str,
    chain: str,
    target: str,
    kind: str,
    params: dict[str, Any],
    perform: Perform,
) -> TxOutcome:
    """Run `perform(on_sent)` between a `requested` and a result audit event (blocking)."""
    store = services.store
    actor, role = claims.sub, claims.role.value
    where = f"{chain}:{target}"
    audit: dict[str, Any] = {
        "actor": actor,
        "role": role,
        "action": action,
        "target": where,
        "params": params,
    }
    store.append_audit(**audit, result="requested")  # StoreUnavailable -> 503, nothing done
    log_event(AUDIT_LOGGER, "requested", **audit)
    sent: list[str] = []

    def on_sent(tx_hash: str) -> None:
        sent.append(tx_hash)
        try:
            store.record_transaction(chain, tx_hash, kind, status="pending", actor=actor)
        except StoreError as exc:  # the result event below still tries to record it
            _log.warning(
                "could not record sent transaction",
                extra={"fields": {"tx_hash": tx_hash, "chain": chain, "error": exc.reference}},
            )

    try:
        outcome = perform(on_sent)
    except SphinxError as exc:
        result = f"refused: {exc.reference}"
        _best_effort_audit(services, {**audit, "params": {**params, "error": exc.message}}, result)
        raise
    final: dict[str, Any] = {**audit, "params": {**params, "tx_hash": outcome.tx_hash}}
    log_event(AUDIT_LOGGER, outcome.status, **final)
    try:
        store.record_transaction(chain, outcome.tx_hash, kind, status="pending", actor=actor)
        if outcome.status != "pending":
            store.update_transaction_status(
                chain, outcome.tx_hash, outcome.status, block_number=outcome.block_number
            )
        store.append_audit(**final, result=outcome.status)
    except StoreError as exc:
        raise StoreError(
            f"{action} was sent ({outcome.tx_hash}, {outcome.status}) but its result could not "
            f"be recorded: {exc.message}",
            reference="result-not-recorded",
            hint="the audit trail holds the request; record the result once the database is back",
            details={"tx_hash": outcome.tx_hash, "status": outcome.status},
        ) from None
    return outcome


def _best_effort_audit(services: HasStore, audit: dict[str, Any], result: str) -> None:
    log_event(AUDIT_LOGGER, result, **audit)
    try:
        services.store.append_audit(**audit, result=result)
    except StoreError as exc:
        _log.warning(
            "could not record refused action",
            extra={"fields": {"error": exc.reference, "action": audit["action"]}},
        )
