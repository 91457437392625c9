"""Privileged actions (mint, pause, unpause, emergency shutdown, rarity publish): audited and
recorded so that an action is never performed without a trace.

Order: the audit event `requested` is appended first (database down -> 503, nothing sent);
the transaction is recorded as pending right after its broadcast; the final status and an
audit event with the result follow. If the database fails after the broadcast, the answer is
a 503 naming the transaction hash, and the `requested` event already names the action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sphinxctl.api.errors import ApiProblem
from sphinxctl.api.logs import AUDIT_LOGGER, log_event
from sphinxctl.errors import SphinxError, StoreError

if TYPE_CHECKING:
    from sphinxctl.api.chain import TxOutcome
    from sphinxctl.api.services import ApiServices
    from sphinxctl.auth import Claims

_log = logging.getLogger(AUDIT_LOGGER)
Perform = Callable[[Callable[[str], None]], "TxOutcome"]


def run_audited(
    services: ApiServices,
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
        raise ApiProblem(
            503,
            f"{action} was sent ({outcome.tx_hash}, {outcome.status}) but its result could not "
            f"be recorded: {exc.message}",
            reference="result-not-recorded",
            hint="the audit trail holds the request; record the result once the database is back",
            details={"tx_hash": outcome.tx_hash, "status": outcome.status},
        ) from None
    return outcome


def _best_effort_audit(services: ApiServices, audit: dict[str, Any], result: str) -> None:
    log_event(AUDIT_LOGGER, result, **audit)
    try:
        services.store.append_audit(**audit, result=result)
    except StoreError as exc:
        _log.warning(
            "could not record refused action",
            extra={"fields": {"error": exc.reference, "action": audit["action"]}},
        )
