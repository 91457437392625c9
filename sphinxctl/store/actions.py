"""Write-ahead auditing of a privileged action: never performed and unrecorded.

    with audited(store, actor, role, "pause", "ethereum/SpaceFlightNFT", params) as outcome:
        tx_hash = send_pause(...)            # runs only once "started" is recorded
        outcome.params["tx_hash"] = tx_hash  # goes into the outcome event

1. An event with result `started` is appended first. If the database is down this raises
   StoreUnavailable and the action never runs (the API answers 503).
2. After the block, an event with result `ok` or `failed: <error>` is appended, its params
   naming the `started` event's seq. If the database went away in between, the append is retried
   a few times; if it still fails, `outcome.recorded` is False (the `started` event remains as
   the record that the action was attempted) and the block's own result stands.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sphinxctl.errors import SphinxError, StoreUnavailable

if TYPE_CHECKING:
    from sphinxctl.store.models import AuditEvent
    from sphinxctl.store.store import Store

# The one retry policy for audit events written after an action started (API actions, the
# deploy recorder): the database gets this long to come back before the event is given up.
RETRY_DELAYS = (0.1, 0.5, 1.0)


def append_retrying(store: Store, delays: tuple[float, ...], **event: Any) -> AuditEvent:
    """Append one audit event, retrying StoreUnavailable after each delay (then raising it)."""
    for delay in delays:
        try:
            return store.append_audit(**event)
        except StoreUnavailable:
            time.sleep(delay)
    return store.append_audit(**event)


class AuditOutcome(BaseModel):
    """Filled in by the audited block; read after it."""

    started_seq: int
    params: dict[str, Any] = Field(default_factory=dict)
    finished_seq: int | None = None
    recorded: bool = False


def _finish(
    store: Store,
    outcome: AuditOutcome,
    fields: dict[str, str],
    result: str,
    delays: tuple[float, ...],
) -> None:
    params = {**outcome.params, "started_seq": outcome.started_seq}
    try:
        event = append_retrying(store, delays, params=params, result=result, **fields)
    except StoreUnavailable:
        return
    outcome.finished_seq, outcome.recorded = event.seq, True


@contextmanager
def audited(
    store: Store,
    actor: str,
    role: str,
    action: str,
    target: str,
    params: Mapping[str, Any] | None = None,
    *,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
) -> Iterator[AuditOutcome]:
    """Record `started`, run the block, record its outcome (see the module docstring)."""
    fields = {"actor": actor, "role": role, "action": action, "target": target}
    started = store.append_audit(params=params, result="started", **fields)
    outcome = AuditOutcome(started_seq=started.seq)
    try:
        yield outcome
    except BaseException as exc:
        # Only our own error messages are recorded: others might quote secrets.
        detail = f": {exc.message}" if isinstance(exc, SphinxError) else ""
        _finish(
            store, outcome, fields, f"failed: {type(exc).__name__}{detail}"[:2000], retry_delays
        )
        raise
    _finish(store, outcome, fields, "ok", retry_delays)
