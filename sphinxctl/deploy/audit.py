"""Audit events of `deploy_contracts` / `handover_to_safe` when a database is configured.

Every caller is audited the same way: the CLI and a Python caller of the deploy functions alike
(`run_audited` wraps the two callbacks the plan executor already takes).

- Before anything is shown or signed, the store must accept events (`ensure_recordable`):
  database down or not migrated -> the command stops with the store's message and hint.
- `confirm`: once the operator confirmed, `deploy.contracts|deploy.handover` `started` is
  appended (chains, transactions to send, deployer address); if that fails, nothing is signed.
- `on_event`, per transaction (action `deploy.transaction`, target `<chain>:<contract>`, params
  nonce, intent, phase, kind, tx hash — read from the journal, never its raw bytes):
  `signed` when journaled and before broadcast (a failure here stops that chain before it
  broadcasts: rerun to resume), `resumed` for a transaction a previous run left pending,
  `replaced` for a fee-bumped replacement, then `mined` or `failed: <why>`.
- At the end: the run's `ok` / `failed: <error>` event, and the final state (from the journal)
  of every transaction of this run that had no outcome event yet.

Events after the write-ahead ones are retried with the store's one retry policy
(`store.actions.RETRY_DELAYS`); those that still cannot be written are listed in a warning, and
a run that otherwise succeeded then fails (`audit-incomplete`): the CLI after showing its
result, a Python caller when the deploy function returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import SphinxError, StoreError, StoreUnavailable
from sphinxctl.store.actions import RETRY_DELAYS, append_retrying
from sphinxctl.store.audit_trail import (
    OPERATOR_ROLE,
    ensure_recordable,
    local_operator,
    refused,
)

if TYPE_CHECKING:
    from sphinxctl.deploy.deployment import DeployRequest
    from sphinxctl.deploy.journal import TxRecord
    from sphinxctl.deploy.models import CostPreview, DeployEvent, DeployResult
    from sphinxctl.settings import Settings
    from sphinxctl.store import Store

Sink = Callable[["DeployEvent"], None]
Confirm = Callable[["CostPreview"], bool]
_log = logging.getLogger(__name__)
# Events after which a chain's previous transaction is settled (in the journal) or abandoned.
_MOVED_ON = frozenset({"tx-signed", "tx-rebroadcast", "step-skipped", "confirming", "chain-done"})
TX_ACTION = "deploy.transaction"


def tx_target(chain: str, contract: str | None) -> str:
    """`<chain>:<contract>`, the form the API's audit events use."""
    return f"{chain}:{contract or 'unknown'}"


def _log_warning(message: str) -> None:
    _log.warning("%s", message)


def open_deploy_audit(
    settings: Settings,
    project_root: Path,
    action: str,
    *,
    warn: Callable[[str], None] = _log_warning,
) -> DeployAudit:
    """The recorder of one `deploy.contracts|deploy.handover` run: active when database.url is
    set (checked here, before anything is shown or signed), a pass-through otherwise."""
    store = None
    if settings.database.url is not None:
        from sphinxctl.store import Store

        store = Store.from_settings(settings, project_root)
        try:
            ensure_recordable(store, "nothing was signed")
        except BaseException:
            store.close()
            raise
    return DeployAudit(
        store,
        actor=local_operator(),
        role=OPERATOR_ROLE,
        action=action,
        project_root=project_root,
        environment=settings.environment,
        warn=warn,
    )


def run_audited(
    action: str,
    body: Callable[..., DeployResult],
    settings: Settings,
    request: DeployRequest,
    on_event: Sink,
    confirm: Confirm | None,
    audit: DeployAudit | None,
) -> DeployResult:
    """`body(settings, request, on_event=..., confirm=...)` with its events recorded by `audit`
    (opened, closed and required complete here when the caller passes none)."""
    if audit is None:
        with open_deploy_audit(settings, request.project_root, action) as own:
            result = run_audited(action, body, settings, request, on_event, confirm, own)
        own.require_complete()
        return result
    wrapped = audit.confirm(confirm) if confirm is not None else None
    result = body(settings, request, on_event=audit.events(on_event), confirm=wrapped)
    audit.succeeded(result)
    return result


class DeployAudit:
    """Records one deploy/handover run (see the module docstring). Thread-safe."""

    def __init__(
        self,
        store: Store | None,
        *,
        actor: str,
        role: str,
        action: str,
        project_root: Path,
        environment: str,
        warn: Callable[[str], None],
    ) -> None:
        self.store = store
        self.fields = {"actor": actor, "role": role}
        self.action = action
        self.root = project_root
        self.environment = environment
        self.warn = warn
        self.started: dict[str, Any] | None = None
        self.unrecorded: list[str] = []
        self._lock = threading.RLock()
        self._open: dict[str, dict[str, Any]] = {}  # tx hash -> params, no outcome event yet
        self._current: dict[str, str] = {}  # chain -> hash of its transaction in flight
        self._healthy = True
        self._last_error = ""

    # --- wrapping the deploy callbacks -----------------------------------------------------
    def confirm(self, inner: Confirm) -> Confirm:
        if self.store is None:
            return inner

        def confirm(preview: CostPreview) -> bool:
            if not inner(preview):
                return False
            chains = [c.chain for c in preview.chains]
            params = {
                "environment": self.environment,
                "deployer": preview.deployer,
                "transactions": preview.to_send,
                "per_chain": {
                    c.chain: c.new_transactions + c.pending_transactions for c in preview.chains
                },
            }
            self._append(
                self.action, ",".join(chains), params, "started", strict="nothing was signed"
            )
            self.started = {"chains": chains}
            return True

        return confirm

    def events(self, inner: Sink) -> Sink:
        if self.store is None:
            return inner

        def sink(event: DeployEvent) -> None:
            self.observe(event)
            inner(event)

        return sink

    def observe(self, event: DeployEvent) -> None:
        """Record what a progress event says about a transaction (raises only for `signed` and
        `resumed`, which come before a broadcast, so the chain stops before sending)."""
        chain, tx_hash = event.chain, event.tx_hash
        if chain is None or self.started is None:
            return
        with self._lock:
            previous = self._current.get(chain)
            if previous and previous != tx_hash and event.kind in _MOVED_ON:
                self._settle(chain, previous)  # a resumed transaction, awaited without tx-mined
            stop = f"{chain}: stopped before broadcasting (the journal keeps the signed bytes)"
            if event.kind == "tx-signed" and tx_hash:
                self._tx_event(chain, tx_hash, "signed", strict=stop)
            elif event.kind == "tx-rebroadcast" and tx_hash and tx_hash not in self._open:
                self._tx_event(chain, tx_hash, "resumed", strict=stop)
            elif event.kind == "tx-replaced" and tx_hash:
                previous = self._current.get(chain)
                params = self._open.pop(previous, {}) if previous else {}
                self._tx_event(chain, tx_hash, "replaced", replaces=params.get("tx_hash"))
            elif event.kind == "tx-mined" and tx_hash:
                self._finish_tx(chain, tx_hash, "mined")
            elif event.kind == "chain-failed" and chain in self._current:
                why = event.message  # a SphinxError's message; others might quote anything
                why = why.split(":")[0] if why.startswith("unexpected ") else why
                self._finish_tx(chain, self._current[chain], f"failed: {why}"[:2000])

    # --- the run's outcome -----------------------------------------------------------------
    def succeeded(self, result: DeployResult) -> None:
        if self.started is None or self.store is None:
            return
        self._settle_open()
        params = {
            "environment": self.environment,
            "sent": result.sent,
            "chains": {
                name: {"sent": o.sent, "resumed": o.rebroadcast, "skipped": o.skipped}
                for name, o in result.chains.items()
            },
        }
        self._append(self.action, ",".join(self.started["chains"]), params, "ok")

    def __enter__(self) -> DeployAudit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and self.started is not None and self.store is not None:
                self._settle_open()
                detail = f": {exc.message}" if isinstance(exc, SphinxError) else ""
                result = f"failed: {type(exc).__name__}{detail}"[:2000]
                self._append(self.action, ",".join(self.started["chains"]), {}, result)
            if exc is not None and self.unrecorded:
                self.warn(self._incomplete_message())
        finally:
            if self.store is not None:
                self.store.close()

    def require_complete(self) -> None:
        """After the result was shown: fail if some events could not be written."""
        if self.unrecorded:
            raise StoreUnavailable(
                self._incomplete_message(),
                hint=f"the deployment journal deployments/{self.environment}.json holds every "
                "transaction; bring the database back (`sphinxctl db status`) and check the "
                "trail with `sphinxctl audit list`",
                reference="audit-incomplete",
            )

    def _incomplete_message(self) -> str:
        shown = "; ".join(self.unrecorded[:5]) + (" ..." if len(self.unrecorded) > 5 else "")
        return (
            f"{len(self.unrecorded)} audit event(s) could not be recorded ({shown}): "
            f"{self._last_error}"
        )

    # --- internals -------------------------------------------------------------------------
    def _lookup(self, chain: str, tx_hash: str) -> TxRecord | None:
        """The journal's record of a transaction (the file is written before each event)."""
        from sphinxctl.deploy.journal import journal_path, read_document

        try:
            document = read_document(journal_path(self.root, self.environment))
        except SphinxError:
            return None
        section = document.chains.get(chain) if document else None
        if section is None:
            return None
        found = [r for r in section.transactions if tx_hash in r.hashes]
        return found[-1] if found else None

    def _tx_params(self, chain: str, tx_hash: str) -> tuple[str, dict[str, Any], TxRecord | None]:
        record = self._lookup(chain, tx_hash)
        params: dict[str, Any] = {"chain": chain, "tx_hash": tx_hash}
        if record is None:
            return tx_target(chain, None), params, None
        params.update(
            nonce=record.nonce,
            intent=record.intent,
            phase=record.phase,
            kind=record.kind,
            to=record.to,
            description=record.description,
        )
        return tx_target(chain, record.contract), params, record

    def _tx_event(
        self, chain: str, tx_hash: str, result: str, *, strict: str | None = None, **extra: Any
    ) -> None:
        target, params, _ = self._tx_params(chain, tx_hash)
        params.update({k: v for k, v in extra.items() if v is not None})
        self._open[tx_hash] = {**params, "target": target}
        self._current[chain] = tx_hash
        self._append(TX_ACTION, target, params, result, strict=strict)

    def _finish_tx(self, chain: str, tx_hash: str, result: str) -> None:
        opened = self._open.pop(tx_hash, None)
        if self._current.get(chain) == tx_hash:
            del self._current[chain]
        target, params, record = self._tx_params(chain, tx_hash)
        if record is None and opened is not None:
            target = opened.pop("target")
            params = opened
        if record is not None:
            params.update(
                journal_status=record.status,
                block_number=record.block_number,
                contract_address=record.contract_address,
                gas_used=record.gas_used,
            )
        self._append(TX_ACTION, target, params, result)

    def _settle(self, chain: str, tx_hash: str) -> None:
        """The outcome event of an open transaction, from its status in the journal."""
        record = self._lookup(chain, tx_hash)
        status = record.status if record is not None else "unknown"
        result = {
            "mined": "mined",
            "confirmed": "mined",
            "reconciled": "mined",
            "reverted": "failed: reverted",
        }.get(status, f"unfinished: journal status {status}")
        self._finish_tx(chain, tx_hash, result)

    def _settle_open(self) -> None:
        """Outcome events for the transactions still open at the end of the run."""
        with self._lock:
            for tx_hash, params in list(self._open.items()):
                self._settle(params["chain"], tx_hash)

    def _append(
        self,
        action: str,
        target: str,
        params: dict[str, Any],
        result: str,
        strict: str | None = None,
    ) -> None:
        """Append one event. `strict` (what was not done): raise at once on failure; else retry
        briefly, then remember the event as unrecorded."""
        assert self.store is not None
        delays: tuple[float, ...] = () if strict or not self._healthy else RETRY_DELAYS
        try:
            append_retrying(
                self.store,
                delays,
                action=action,
                target=target,
                params=params,
                result=result,
                **self.fields,
            )
            self._healthy = True
        except StoreError as exc:
            if strict:
                raise refused(exc, strict) from exc.__cause__
            self._healthy = False
            self.unrecorded.append(f"{action} {target} {result.split(':')[0]}")
            self._last_error = exc.message
