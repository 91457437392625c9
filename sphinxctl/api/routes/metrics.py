"""GET /metrics: Prometheus text exposition of sphinxctl's registry.

The transaction families (sphinxos_transactions_total, sphinxos_transaction_value,
sphinxos_pending_transactions) come from the database when a store is attached, so every
replica reports the same numbers; the process-local ones of those names are then left out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sphinxctl import metrics
from sphinxctl.platform.value_events import EVENT_KINDS

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from sphinxctl.store.models import TransactionStats

router = APIRouter(tags=["operations"])
_log = logging.getLogger("sphinxctl.api.metrics")

DB_FAMILIES = (
    "sphinxos_transactions",
    "sphinxos_transaction_value",
    "sphinxos_pending_transactions",
)
StatsSource = Callable[[], "TransactionStats"]


class ScrapeView:
    """A collector view: the registry's families, with the transaction ones from the database."""

    def __init__(self, base: Any, stats: StatsSource | None, cache_seconds: float = 2.0) -> None:
        self.base = base
        self.stats = stats
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        db_families = self._db_families() if self.stats is not None else None
        seen_in_events: list[Any] = []
        for family in self.base.collect():
            if db_families is not None and family.name in DB_FAMILIES:
                if family.name == "sphinxos_transaction_value":
                    # Values the poller read from contract events are not database rows.
                    seen_in_events = [
                        s for s in family.samples if s.labels.get("kind") in EVENT_KINDS
                    ]
                continue
            yield family
        if db_families is not None:
            for family in db_families:
                if family.name == "sphinxos_transaction_value" and seen_in_events:
                    from prometheus_client.metrics_core import Metric as Family

                    merged = Family(family.name, family.documentation, family.type)
                    merged.samples = [*family.samples, *seen_in_events]
                    family = merged
                yield family

    def _db_families(self) -> list[Metric] | None:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        assert self.stats is not None
        try:
            families = transaction_families(self.stats())
        except Exception as exc:  # noqa: BLE001 — a scrape must not fail on the store
            metrics.ERRORS.labels(component="store", kind="metrics_scrape").inc()
            _log.warning("transaction metrics unavailable: %s", type(exc).__name__)
            return self._cached[1] if self._cached is not None else None
        self._cached = (now, families)
        return families


def transaction_families(stats: TransactionStats) -> list[Metric]:
    """The three transaction metric families computed from database rows."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    total = CounterMetricFamily(
        "sphinxos_transactions",
        metrics.TRANSACTIONS._documentation,
        labels=["chain", "kind", "status"],
    )
    for count in stats.counts:
        if count.status != "pending":  # a counter never goes down; pending is the gauge
            total.add_metric([count.chain, count.kind, count.status], count.count)
    value = HistogramMetricFamily(
        "sphinxos_transaction_value",
        metrics.TRANSACTION_VALUE._documentation,
        labels=["chain", "kind"],
    )
    for hist in stats.values:
        buckets = [(_le(bound), count) for bound, count in hist.buckets if not math.isinf(bound)]
        buckets.append(("+Inf", hist.count))
        value.add_metric([hist.chain, hist.kind], buckets, hist.sum)
    pending = GaugeMetricFamily(
        "sphinxos_pending_transactions",
        metrics.PENDING_TRANSACTIONS._documentation,
        labels=["chain"],
    )
    chains = {c.chain for c in stats.counts} | set(stats.pending)
    for chain in sorted(chains):
        pending.add_metric([chain], stats.pending.get(chain, 0))
    return [total, value, pending]


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))


def scrape_registry(multiproc_dir: str | None, stats: StatsSource | None = None) -> ScrapeView:
    """What a scrape collects: the registry (or every worker's, in multiprocess mode)."""
    base: Any = metrics.REGISTRY
    if multiproc_dir is not None:
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        base = CollectorRegistry()
        MultiProcessCollector(base, path=multiproc_dir)
    return ScrapeView(base, stats)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def get_metrics(request: Request) -> Response:
    """Prometheus text format (version 0.0.4)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    request.app.state.services.activity.count()  # let sphinxos_active_users decay when idle
    view: ScrapeView = request.app.state.scrape_view
    return Response(generate_latest(view), media_type=CONTENT_TYPE_LATEST)
