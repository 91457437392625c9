"""Audit events of Safe operations, in the store's hash-chained trail (write-ahead: `started`
before the file is written or anything is sent, then `ok` / `failed: ...`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sphinxctl.store.actions import AuditOutcome

if TYPE_CHECKING:
    from sphinxctl.store import Store


class Actor(BaseModel):
    """Who acts: the OS user of the CLI (`operator-cli`) or the API's token subject and role."""

    name: str
    role: str


@contextmanager
def recorded(
    store: Store | None,
    actor: Actor,
    action: str,
    target: str,
    params: Mapping[str, Any],
) -> Iterator[AuditOutcome]:
    """`audited` from the store, or an unrecorded outcome when no store is given."""
    if store is None:
        with nullcontext(AuditOutcome(started_seq=0)) as outcome:
            yield outcome
        return
    from sphinxctl.store.actions import audited

    with audited(store, actor.name, actor.role, action, target, params) as outcome:
        yield outcome


def track_transaction(
    store: Store | None,
    chain: str,
    tx_hash: str,
    actor: Actor,
    status: str = "pending",
    block_number: int | None = None,
) -> None:
    """The execTransaction in the store's transaction table (pending before broadcast, its
    outcome after), like the API's transactions; idempotent, so a resumed run repeats it."""
    if store is None:
        return
    store.record_transaction(chain, tx_hash, "safe_execute", status="pending", actor=actor.name)
    if status != "pending":
        store.update_transaction_status(chain, tx_hash, status, block_number=block_number)
