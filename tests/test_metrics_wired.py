"""Every metric defined in sphinxctl/metrics.py is updated somewhere in the code.

A defined but never-updated metric is a silent alert: `sphinxos_yield_harvested_total` once
had an alert and a panel but nothing counting it.
"""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from sphinxctl import metrics

PACKAGE = Path(metrics.__file__).parent
UPDATE = r"\.(?:labels\(|inc\(|dec\(|set\(|observe\(|time\(|set_function\()"


def test_every_metric_is_updated_outside_its_definition() -> None:
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
        if path != Path(metrics.__file__)
    )
    names = [n for n, v in vars(metrics).items() if isinstance(v, MetricWrapperBase)]
    assert len(names) >= 20
    unused = [n for n in names if not re.search(rf"\b{n}{UPDATE}", sources)]
    assert unused == []
