"""`run_checklist`: the one domain function behind `sphinxctl check`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from sphinxctl.checks.attestations import AttestationSet, attestation_set, attestations_path
from sphinxctl.checks.checklist import AREAS, load_checklist
from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.model import ChecklistItem, ChecklistReport, CheckResult, Status, Summary
from sphinxctl.checks.registry import DEFAULT_TIMEOUT, registry
from sphinxctl.checks.runner import run_checks

if TYPE_CHECKING:
    from sphinxctl.errors import SphinxError
    from sphinxctl.settings import LoadedSettings

# I/O inside a check gets this share of the check's budget, so it ends (and reports why)
# before the runner gives up on the check.
IO_SHARE = 0.7


class CheckRequest(BaseModel):
    """What to check: the environment, where the project is, which areas, how strictly."""

    env: str
    project_root: Path
    areas: list[str] = Field(default_factory=lambda: [key for key, _ in AREAS.values()])
    allow_manual: bool = False
    timeout: float | None = Field(default=None, gt=0, description="Cap on every check's budget")


def run_checklist(
    request: CheckRequest,
    loaded: LoadedSettings | None,
    load_error: SphinxError | None = None,
    *,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ChecklistReport:
    """Run every automated item of the chosen areas concurrently and report every item."""
    started = time.monotonic()
    items = load_checklist(request.project_root)
    chosen = [item for item in items if item.area in request.areas]
    budget = min(request.timeout or DEFAULT_TIMEOUT, DEFAULT_TIMEOUT)
    ctx = CheckContext(
        env=request.env,
        project_root=request.project_root,
        loaded=loaded,
        load_error=load_error,
        io_timeout=budget * IO_SHARE,
        items=items,
    )
    checks = registry()
    by_name = {c.name: c for c in checks.values()}
    to_run = [by_name[i.check] for i in chosen if i.kind == "automated" and i.check in by_name]
    ran = {r.id: r for r in run_checks(ctx, to_run, timeout_cap=request.timeout)}
    attested = attestation_set(ctx)

    results: list[CheckResult] = []
    for item in chosen:
        if item.kind == "manual":
            result = _manual_result(item, attested, request)
        elif item.check in by_name and by_name[item.check].id == item.id:
            result = ran[item.id].model_copy(update={"title": item.text})
        else:
            result = _result(item, Status.FAIL, f"no check named {item.check!r} is registered")
            result.hint = "CHECKLIST.md and sphinxctl/checks/ are out of sync: fix the row"
        results.append(result)
        if on_result is not None:
            on_result(result)
    return _report(request, results, time.monotonic() - started)


def _manual_result(
    item: ChecklistItem, attested: AttestationSet, request: CheckRequest
) -> CheckResult:
    found = attested.valid.get(item.id)
    if found is not None:
        day = found.when.isoformat()
        result = _result(item, Status.PASS, f"attested by {found.who} on {day}")
        result.details = {"who": found.who, "when": day, "evidence": found.evidence}
        return result
    file = attestations_path(request.project_root, request.env)
    result = _result(item, Status.MANUAL, f"not attested; evidence expected: {item.evidence}")
    result.hint = f"verify it, then add `id: {item.id}`, who, when, evidence to {file.name}"
    return result


def _result(item: ChecklistItem, status: Status, reason: str) -> CheckResult:
    return CheckResult(
        id=item.id,
        area=item.area,
        title=item.text,
        kind=item.kind,
        check=item.check,
        status=status,
        reason=reason,
    )


def _report(request: CheckRequest, results: list[CheckResult], wall: float) -> ChecklistReport:
    def count(status: Status) -> int:
        return sum(1 for r in results if r.status == status)

    summary = Summary(
        total=len(results),
        passed=count(Status.PASS),
        failed=count(Status.FAIL),
        warned=count(Status.WARN),
        manual=count(Status.MANUAL),
        skipped=count(Status.SKIP),
    )
    ok = summary.failed == 0 and (request.allow_manual or summary.manual == 0)
    return ChecklistReport(
        environment=request.env,
        areas=request.areas,
        allow_manual=request.allow_manual,
        ok=ok,
        summary=summary,
        wall_seconds=round(wall, 3),
        results=results,
    )
