"""The mainnet readiness checklist: CHECKLIST.md items, their automated checks, attestations.

`run_checklist` (readiness.py) is the entry point: it parses CHECKLIST.md, runs every automated
item of the chosen areas concurrently (runner.py) against the registry (registry.py, checks in
items/), resolves manual items from `deployments/<env>.attestations.yaml` (attestations.py) and
returns a ChecklistReport that reporters.py renders as a table or JUnit XML.
"""

from sphinxctl.checks.model import ChecklistItem, ChecklistReport, CheckResult, Status
from sphinxctl.checks.readiness import CheckRequest, run_checklist

__all__ = [
    "CheckRequest",
    "CheckResult",
    "ChecklistItem",
    "ChecklistReport",
    "Status",
    "run_checklist",
]
