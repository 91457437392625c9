"""The checklist's data: items, statuses, one result per item, the report of a run."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Status(StrEnum):
    """The outcome of one checklist item.

    pass/fail/warn come from automated checks; `manual` is an unattested manual item; `skip`
    means not applicable to this environment, or not evaluated because the item it depends on
    (named in the reason) failed in the same run.
    """

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    MANUAL = "manual"
    SKIP = "skip"


Kind = Literal["automated", "manual"]


class ChecklistItem(BaseModel):
    """One line of CHECKLIST.md."""

    id: str = Field(pattern=r"^[A-Z]{3}-\d{3}$")
    area: str
    text: str
    kind: Kind
    check: str | None = Field(default=None, description="Check name (automated items)")
    evidence: str | None = Field(default=None, description="Evidence expected (manual items)")


class CheckResult(BaseModel):
    """What one item came to, why, and how to fix it."""

    id: str
    area: str
    title: str
    kind: Kind
    check: str | None = None
    status: Status
    reason: str
    hint: str | None = None
    duration_seconds: float = 0.0
    details: dict[str, object] = Field(default_factory=dict)


class Summary(BaseModel):
    total: int
    passed: int
    failed: int
    warned: int
    manual: int
    skipped: int


class ChecklistReport(BaseModel):
    """Every result of one `sphinxctl check` run, and whether the environment is ready."""

    environment: str
    areas: list[str]
    allow_manual: bool
    ok: bool
    summary: Summary
    wall_seconds: float
    results: list[CheckResult]

    def failing(self) -> list[CheckResult]:
        """The results that make the run fail (fail, or unattested manual unless allowed)."""
        bad = {Status.FAIL} | ({Status.MANUAL} if not self.allow_manual else set())
        return [r for r in self.results if r.status in bad]


class Attestation(BaseModel):
    """A manual item signed off: who, when, and where the evidence is."""

    model_config = {"extra": "forbid"}

    id: str = Field(pattern=r"^[A-Z]{3}-\d{3}$")
    who: str = Field(min_length=1)
    when: datetime | date
    evidence: str = Field(min_length=1, description="Link to the evidence")
    note: str | None = None
