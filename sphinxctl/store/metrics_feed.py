"""Feed the transaction metrics from the database instead of process-local counters.

Every API replica calls `TransactionMetricsSync.sync(store)` periodically (e.g. every 15 s from
its background poller, and lazily before /metrics). After a sync, this process reports:

- `sphinxos_transactions_total{chain,kind,status}`: transactions that reached a final status
  (confirmed, failed, dropped, replaced) in the whole database — the counter is increased by
  the difference since the last sync, so it stays monotonic;
- `sphinxos_transaction_value{chain,kind}`: one observation per recorded transaction, taken
  the first time this process sees its row;
- `sphinxos_pending_transactions{chain}`: the current number of pending transactions.

Every replica reports the same database-wide numbers: alert rules and dashboards aggregate
them with `max by (...)` rather than `sum`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sphinxctl.store.models import FINAL_TX_STATUSES, TransactionStats

if TYPE_CHECKING:
    from sphinxctl.store.store import Store

_PAGE = 1000


class TransactionMetricsSync:
    """Remembers what it already reported, so repeated syncs only add what is new."""

    def __init__(self, *, max_new_rows: int = 10_000) -> None:
        self._counted: dict[tuple[str, str, str], int] = {}
        self._pending_chains: set[str] = set()
        self._last_id = 0
        self._max_new_rows = max_new_rows
        self._lock = threading.Lock()

    def sync(self, store: Store) -> TransactionStats:
        """Read the database's numbers and update the process's metrics; returns them."""
        from sphinxctl import metrics

        stats = store.transaction_stats()
        with self._lock:
            for count in stats.counts:
                if count.status not in FINAL_TX_STATUSES:
                    continue
                key = (count.chain, count.kind, count.status)
                delta = count.count - self._counted.get(key, 0)
                if delta > 0:
                    metrics.TRANSACTIONS.labels(*key).inc(delta)
                    self._counted[key] = count.count
            for chain in self._pending_chains | set(stats.pending):
                metrics.PENDING_TRANSACTIONS.labels(chain).set(stats.pending.get(chain, 0))
            self._pending_chains |= set(stats.pending)
            seen = 0
            while seen < self._max_new_rows and self._last_id < stats.max_id:
                rows = store.list_transactions(after_id=self._last_id, limit=_PAGE)
                if not rows:
                    break
                for row in rows:
                    metrics.TRANSACTION_VALUE.labels(row.chain, row.kind).observe(row.value)
                self._last_id = rows[-1].id
                seen += len(rows)
        return stats
