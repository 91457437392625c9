"""`infra rollout`: a canary beside the stable, shifted step by step, each step gated on metrics.

Every change of state is written to the rollout record (rollout_state) before the next action,
so a killed run resumes from the recorded step: replica counts are absolute (applying them
again never doubles anything), the step's window starts when the record says, and a step
advances only after its passing verdict is recorded. Prometheus unreachable pauses the
rollout; nothing is promoted blind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sphinxctl.errors import RolloutPaused, UsageError
from sphinxctl.infra import rollout_canary as canary
from sphinxctl.infra import rollout_state as state
from sphinxctl.infra.apply import apply_set
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.models import ObjectRef
from sphinxctl.infra.render import render_objects
from sphinxctl.infra.rollout_analysis import Prometheus, analyse, series
from sphinxctl.infra.rollout_models import (
    Analysis,
    RolloutEvent,
    RolloutRecord,
    RolloutResult,
    Series,
    StepPlan,
)
from sphinxctl.infra.secret_values import reveal
from sphinxctl.infra.wait import wait_ready

Notify = Callable[[RolloutEvent], None]


@dataclass
class RolloutRequest:
    """What `infra rollout` asks for; None takes the environment's rollout settings."""

    image: str | None = None
    steps: list[int] | None = None
    pause_seconds: float | None = None
    dry_run: bool = False


@dataclass
class Rollout:
    """One rollout run: the stack, Prometheus, and where progress goes."""

    ctx: StackContext
    prometheus: Prometheus
    notify: Notify | None = None
    wall: Callable[[], float] = time.time
    tick: float = 1.0

    @property
    def ns(self) -> str:
        return self.ctx.namespace

    def emit(self, record: RolloutRecord, kind: str, message: str, **fields: object) -> None:
        if self.notify is not None:
            self.notify(RolloutEvent(kind=kind, message=message, rollout=record.id, **fields))

    def result(self, outcome: str, message: str, record: RolloutRecord | None) -> RolloutResult:
        plans = canary.plan(record.steps, record.stable_replicas) if record else []
        return RolloutResult(
            environment=self.ctx.settings.environment,
            namespace=self.ns,
            outcome=outcome,
            message=message,
            rollout=record,
            plan=plans,
        )

    # -- start or resume -----------------------------------------------------------------

    def run(self, request: RolloutRequest) -> RolloutResult:
        """Start a rollout of `request.image`, or resume the recorded one."""
        record = state.load(self.ctx.api, self.ns)
        if record is not None and record.active:
            if request.image and request.image != record.image:
                raise UsageError(
                    f"rollout {record.id} of {record.image} is in progress ({record.phase})",
                    hint="resume it with `sphinxctl infra rollout`, or stop it with "
                    "`sphinxctl infra rollout abort`",
                )
            if request.dry_run:
                return self.result("dry-run", "dry run: would resume", record)
            return self._drive(record, resumed=True)
        return self._start(request, record)

    def _start(self, request: RolloutRequest, last: RolloutRecord | None) -> RolloutResult:
        gates = self.ctx.settings.rollout
        if not request.image:
            raise UsageError("no rollout is in progress: --image is needed to start one")
        steps = request.steps or gates.steps
        if steps != sorted(set(steps)) or steps[-1] != 100 or steps[0] <= 0:
            raise UsageError(f"--steps {steps}: increasing percentages ending at 100")
        if self.ctx.sources is None:
            raise UsageError("infra rollout needs the manifest sources")
        stable = canary.live_stable(self.ctx)
        if last is not None and last.phase != "promoted" and not request.dry_run:
            # a restore cut short by a kill: finish it before reading the stable's size
            self._restore(last, quiet=True)
            stable = canary.live_stable(self.ctx)
        previous = canary.image_of(stable)
        if previous == request.image:
            raise UsageError(f"{request.image} is already the stable image: nothing to roll out")
        now = datetime.now(UTC)
        record = RolloutRecord(
            id=now.strftime("r%Y%m%dt%H%M%S"),
            environment=self.ctx.settings.environment,
            image=request.image,
            previous_image=previous,
            steps=steps,
            pause_seconds=request.pause_seconds or gates.pause_seconds,
            stable_replicas=max(1, canary.replicas_of(stable)),
            started=state.now_text(),
            updated=state.now_text(),
        )
        # Promotion re-applies the stack: find missing secrets now, not after the analysis.
        reveal(render_objects(self.ctx.settings, self.ctx.sources), self.ctx.settings)
        if request.dry_run:
            self.ctx.api.apply(self._canary(record), dry_run=True)
            return self.result("dry-run", "dry run: nothing was changed", record)
        state.save(self.ctx.api, self.ns, record)
        self.emit(
            record,
            "start",
            f"rollout {record.id}: {previous} -> {record.image}, steps "
            f"{','.join(map(str, steps))} %, {record.pause_seconds:g} s per step",
        )
        return self._drive(record, resumed=False)

    def _canary(self, record: RolloutRecord) -> dict[str, Any]:
        if self.ctx.sources is None:
            raise UsageError("infra rollout needs the manifest sources")
        rendered = render_objects(self.ctx.settings, self.ctx.sources)
        stable = next(
            o
            for o in rendered
            if o["kind"] == "Deployment" and o["metadata"]["name"] == canary.STABLE_NAME
        )
        return canary.canary_object(stable, record.image, record.id)

    # -- the steps -----------------------------------------------------------------------

    def _drive(self, record: RolloutRecord, *, resumed: bool) -> RolloutResult:
        if resumed:
            self.emit(record, "resume", f"resuming rollout {record.id} at step "
                      f"{record.step_index + 1}/{len(record.steps)} ({record.phase})")  # fmt: skip
        if record.phase == "paused":
            record.phase, record.reason = "progressing", None
            state.save(self.ctx.api, self.ns, record)
        while record.phase == "progressing" and record.step_index < len(record.steps):
            step = canary.plan_step(
                record.step_index + 1, record.steps[record.step_index], record.stable_replicas
            )
            self._shift(record, step)
            try:
                verdict = self._analyse(record, step)
            except RolloutPaused as exc:
                record.phase, record.reason = "paused", exc.message
                state.save(self.ctx.api, self.ns, record)
                self.emit(record, "pause", exc.message, step=step.step, share=step.share)
                return self.result("paused", exc.message, record)
            record.verdicts.append(verdict)
            word = "passed" if verdict.passed else "FAILED"
            self.emit(
                record,
                "verdict",
                f"step {step.step} ({step.share} %) {word}"
                + ("" if verdict.passed else ": " + "; ".join(verdict.reasons)),
                step=step.step,
                share=step.share,
                analysis=verdict,
            )
            if not verdict.passed:
                record.phase = "rolled-back"
                record.reason = f"step {step.step}: " + "; ".join(verdict.reasons)
                state.save(self.ctx.api, self.ns, record)
                self._restore(record)
                return self.result("rolled-back", record.reason, record)
            record.step_index += 1
            record.step_started_at = None
            state.save(self.ctx.api, self.ns, record)
        if record.phase in ("progressing", "promoting"):
            return self.promote(record)
        return self.result("status", f"rollout {record.id} is {record.phase}", record)

    def _shift(self, record: RolloutRecord, step: StepPlan) -> None:
        """Set the step's replica counts (absolute values) and wait for the canary."""
        api = self.ctx.api
        api.apply(self._canary(record))
        canary.scale(api, self.ns, canary.CANARY_NAME, step.canary_replicas)
        canary.scale(api, self.ns, canary.STABLE_NAME, step.stable_replicas)
        self.emit(
            record,
            "shift",
            f"step {step.step}/{len(record.steps)}: {step.share} % -> canary "
            f"{step.canary_replicas} pod(s), stable {step.stable_replicas} "
            f"({step.effective_share:.0f} % of pods)",
            step=step.step,
            share=step.share,
            effective_share=step.effective_share,
        )
        ref = ObjectRef(
            api_version="apps/v1", kind="Deployment", name=canary.CANARY_NAME, namespace=self.ns
        )
        wait_ready(
            api,
            [ref],
            timeout=self.ctx.settings.rollout.ready_timeout_seconds,
            poll_interval=self.ctx.poll_interval,
            sleep=self.ctx.sleep,
            clock=self.ctx.clock,
        )
        if record.step_started_at is None:
            record.step_started_at = self.wall()
            state.save(self.ctx.api, self.ns, record)

    def _analyse(self, record: RolloutRecord, step: StepPlan) -> Analysis:
        """Wait out the step's pause (reporting both series), then judge the whole window."""
        assert record.step_started_at is not None
        gates = self.ctx.settings.rollout
        end = record.step_started_at + record.pause_seconds
        peek = Prometheus(self.prometheus.url, timeout=self.prometheus.timeout, attempts=1)
        while (left := end - self.wall()) > 0:
            elapsed = max(2.0, self.wall() - record.step_started_at)
            now_stable: Series | None = None
            now_canary: Series | None = None
            try:
                now_stable = series(peek, gates.stable_selector, elapsed)
                now_canary = series(peek, gates.canary_selector, elapsed)
                figures = f"stable {_text(now_stable)} | canary {_text(now_canary)}"
            except RolloutPaused:
                figures = f"Prometheus at {peek.url} is not answering"
            self.emit(
                record,
                "progress",
                f"step {step.step}/{len(record.steps)} {step.share} %: {figures}; "
                f"{left:.0f} s left",
                step=step.step,
                share=step.share,
                effective_share=step.effective_share,
                seconds_left=round(left, 1),
                stable=now_stable,
                canary=now_canary,
            )
            self.ctx.sleep(min(self.tick, left))
        previous = _previous_stable(record)
        return analyse(
            self.prometheus, gates, step.step, step.share, record.pause_seconds, previous
        )

    # -- endings -------------------------------------------------------------------------

    def promote(self, record: RolloutRecord) -> RolloutResult:
        """Make the canary's image the stable's (recorded as a revision), then drop the canary."""
        if record.phase != "promoting":
            record.phase = "promoting"
            state.save(self.ctx.api, self.ns, record)
        settings = self.ctx.settings
        promoted = settings.model_copy(
            update={"kubernetes": settings.kubernetes.model_copy(update={"image": record.image})}
        )
        ctx = StackContext(
            settings=promoted,
            api=self.ctx.api,
            sources=self.ctx.sources,
            on_event=self.ctx.on_event,
            poll_interval=self.ctx.poll_interval,
            sleep=self.ctx.sleep,
            clock=self.ctx.clock,
        )
        if ctx.sources is None:
            raise UsageError("infra rollout promote needs the manifest sources")
        applied = apply_set(
            ctx,
            render_objects(promoted, ctx.sources),
            f"rollout {record.id}: promote {record.image}",
            dry_run=False,
            wait=False,
            timeout=settings.rollout.ready_timeout_seconds,
        )
        canary.scale(self.ctx.api, self.ns, canary.STABLE_NAME, record.stable_replicas)
        ref = ObjectRef(
            api_version="apps/v1", kind="Deployment", name=canary.STABLE_NAME, namespace=self.ns
        )
        wait_ready(
            self.ctx.api,
            [ref],
            timeout=settings.rollout.ready_timeout_seconds,
            poll_interval=self.ctx.poll_interval,
            sleep=self.ctx.sleep,
            clock=self.ctx.clock,
        )
        self.ctx.api.delete("apps/v1", "Deployment", canary.CANARY_NAME, self.ns)
        record.phase, record.revision = "promoted", applied.revision
        state.save(self.ctx.api, self.ns, record)
        message = (
            f"rollout {record.id}: {record.image} promoted to stable (revision "
            f"{applied.revision}); set kubernetes.image to it in the environment file so the "
            "next `infra up` keeps it"
        )
        self.emit(record, "promote", message)
        return self.result("promoted", message, record)

    def _restore(self, record: RolloutRecord, *, quiet: bool = False) -> None:
        """Canary to 0 pods, stable back to its recorded replica count (idempotent)."""
        api = self.ctx.api
        if canary.canary_replicas(api, self.ns) is not None:
            canary.scale(api, self.ns, canary.CANARY_NAME, 0)
        canary.scale(api, self.ns, canary.STABLE_NAME, record.stable_replicas)
        if quiet:
            return
        self.emit(
            record,
            "abort",
            f"rollout {record.id} rolled back: canary at 0 pods, stable {record.previous_image} "
            f"at {record.stable_replicas}; {record.reason}",
        )

    def abort(self, reason: str) -> RolloutResult:
        """Stop the rollout and restore the stable (idempotent; a promoted one stays)."""
        record = state.load(self.ctx.api, self.ns)
        if record is None:
            raise UsageError(f"no rollout was ever recorded in namespace {self.ns!r}")
        if record.phase == "promoted":
            raise UsageError(
                f"rollout {record.id} was promoted; use `sphinxctl infra rollback` instead"
            )
        if record.phase not in ("rolled-back", "aborted"):
            record.phase, record.reason = "aborted", reason
            state.save(self.ctx.api, self.ns, record)
        self._restore(record)
        return self.result(record.phase, f"rollout {record.id} {record.phase}", record)

    def promote_now(self) -> RolloutResult:
        """Skip the remaining steps of the active rollout and promote it."""
        record = state.load(self.ctx.api, self.ns)
        if record is None or not record.active:
            raise UsageError(f"no rollout is in progress in namespace {self.ns!r}")
        return self.promote(record)

    def status(self) -> RolloutResult:
        record = state.load(self.ctx.api, self.ns)
        if record is None:
            return self.result("status", f"no rollout recorded in namespace {self.ns!r}", None)
        return self.result("status", f"rollout {record.id} is {record.phase}", record)


def _previous_stable(record: RolloutRecord) -> Series | None:
    """The stable's figures from the latest step that had them (the 100 % step's baseline)."""
    for verdict in reversed(record.verdicts):
        if verdict.stable.requests > 0 and verdict.stable.error_ratio is not None:
            return verdict.stable
    return None


def _text(figures: Series) -> str:
    ratio = "-" if figures.error_ratio is None else f"{figures.error_ratio:.2%}"
    p99 = "-" if figures.p99_seconds is None else f"{figures.p99_seconds * 1000:.0f} ms"
    return f"5xx {ratio}, p99 {p99}, {figures.requests:.0f} req"
