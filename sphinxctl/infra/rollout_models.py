"""What a canary rollout records, reports while it runs, and returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Phase = Literal["progressing", "paused", "promoting", "promoted", "rolled-back", "aborted"]
ACTIVE_PHASES = frozenset({"progressing", "paused", "promoting"})
Outcome = Literal["promoted", "rolled-back", "paused", "aborted", "dry-run", "status"]


class Series(BaseModel):
    """One track's figures over an analysis window (None: Prometheus had no samples)."""

    requests: float = 0.0
    error_ratio: float | None = None
    p99_seconds: float | None = None


class Analysis(BaseModel):
    """The verdict of one step: the canary's series against the stable's (or a baseline)."""

    step: int
    share: int
    window_seconds: float
    stable: Series
    canary: Series
    baseline: Literal["stable", "previous-step", "none"]
    passed: bool
    reasons: list[str] = []


class StepPlan(BaseModel):
    """Replicas of one step: the traffic share asked for and the one replicas give."""

    step: int
    share: int
    canary_replicas: int
    stable_replicas: int

    @property
    def effective_share(self) -> float:
        total = self.canary_replicas + self.stable_replicas
        return 100.0 * self.canary_replicas / total if total else 0.0


class RolloutRecord(BaseModel):
    """The state of the namespace's rollout, kept in a ConfigMap so a rerun resumes it."""

    id: str
    environment: str
    image: str
    previous_image: str
    steps: list[int]
    pause_seconds: float
    stable_replicas: int
    step_index: int = 0
    step_started_at: float | None = None
    phase: Phase = "progressing"
    reason: str | None = None
    started: str
    updated: str
    verdicts: list[Analysis] = []
    revision: int | None = None

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES


class RolloutEvent(BaseModel):
    """Progress the CLI renders on stderr and the audit trail records (start, verdict,
    promote, abort)."""

    kind: Literal["start", "resume", "shift", "progress", "verdict", "pause", "promote", "abort"]
    message: str
    rollout: str
    step: int | None = None
    share: int | None = None
    effective_share: float | None = None
    seconds_left: float | None = None
    stable: Series | None = None
    canary: Series | None = None
    analysis: Analysis | None = None


class RolloutResult(BaseModel):
    """Outcome of `infra rollout` and its subcommands (`-o json`)."""

    environment: str
    namespace: str
    outcome: Outcome
    message: str
    rollout: RolloutRecord | None = None
    plan: list[StepPlan] = []
