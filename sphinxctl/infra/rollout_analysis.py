"""The metric gate of a rollout step: the canary's 5xx ratio and p99 latency against the
stable's, read from Prometheus' HTTP API (`/api/v1/query`) over the step's pause.

The stable is the baseline while it serves traffic; at the 100 % step it serves none, so the
stable's figures of the previous step stand in. Too little canary traffic fails the gate: a
verdict is never given on no data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import RolloutPaused
from sphinxctl.infra.rollout_models import Analysis, Series

if TYPE_CHECKING:
    from sphinxctl.settings.sections import RolloutSettings

REQUESTS = "sphinxos_requests_total"
LATENCY_BUCKETS = "sphinxos_api_latency_seconds_bucket"


class Prometheus:
    """A read-only client of one Prometheus server's instant-query API."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: RolloutSettings) -> Prometheus:
        return cls(
            settings.prometheus_url,
            timeout=settings.query_timeout_seconds,
            attempts=settings.query_attempts,
        )

    def scalar(self, query: str, at: float | None = None) -> float | None:
        """The single value of an instant query (at unix time `at`, default now); None when
        the result is empty or NaN."""
        import httpx

        params = {"query": query} if at is None else {"query": query, "time": f"{at:.3f}"}
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = httpx.get(
                    f"{self.url}/api/v1/query", params=params, timeout=self.timeout
                )
                body: Any = response.json()
                if response.status_code == 200 and body.get("status") == "success":
                    return _first_value(body["data"]["result"])
                last = f"HTTP {response.status_code}: {str(body.get('error', ''))[:200]}"
                if response.status_code == 400:
                    break  # a bad query does not get better
            except (httpx.HTTPError, ValueError) as exc:
                last = type(exc).__name__
            if attempt < self.attempts:
                self._sleep(min(0.5 * 2 ** (attempt - 1), 2.0))
        raise RolloutPaused(
            f"Prometheus at {self.url} did not answer the analysis ({last}); the rollout is "
            "paused at this step and nothing was promoted",
            hint="check rollout.prometheus_url (port-forward Prometheus if it runs in the "
            "cluster), then run `sphinxctl infra rollout` again to redo this step's analysis",
            details={"prometheus": self.url, "error": last},
        )


def _first_value(result: list[dict[str, Any]]) -> float | None:
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) or math.isinf(value) else value


def _window(seconds: float) -> str:
    return f"{max(2, math.ceil(seconds))}s"


def series(
    prom: Prometheus, selector: str, window_seconds: float, at: float | None = None
) -> Series:
    """Requests, 5xx ratio and p99 latency of the pods `selector` matches over the window
    ending at `at` (every query at the same instant, the ratio in one query)."""
    window = _window(window_seconds)
    at = time.time() if at is None else at
    total = f"sum(increase({REQUESTS}{{{selector}}}[{window}]))"
    errors = f'sum(increase({REQUESTS}{{{selector},status=~"5.."}}[{window}]))'
    requests = prom.scalar(total, at) or 0.0
    ratio = prom.scalar(f"({errors} or vector(0)) / {total}", at) if requests > 0 else None
    p99 = prom.scalar(
        f"histogram_quantile(0.99, sum by (le) (rate({LATENCY_BUCKETS}{{{selector}}}[{window}])))",
        at,
    )
    return Series(requests=round(requests, 3), error_ratio=ratio, p99_seconds=p99)


def judge(
    step: int,
    share: int,
    window_seconds: float,
    stable: Series,
    canary: Series,
    previous: Series | None,
    gates: RolloutSettings,
) -> Analysis:
    """Pass or fail one step, with every reason for a failure."""
    if stable.requests > 0 and stable.error_ratio is not None:
        baseline, kind = stable, "stable"
    elif previous is not None:
        baseline, kind = previous, "previous-step"
    else:
        baseline, kind = None, "none"
    reasons: list[str] = []
    if canary.requests < max(gates.min_requests, 1):
        reasons.append(
            f"the canary served {canary.requests:.0f} requests in the window, fewer than "
            f"{max(gates.min_requests, 1)}: no verdict on too little traffic"
        )
    base_error = (baseline.error_ratio or 0.0) if baseline is not None else 0.0
    if canary.error_ratio is not None:
        limit = base_error + gates.max_error_ratio_increase
        if canary.error_ratio > limit:
            reasons.append(
                f"canary 5xx ratio {canary.error_ratio:.2%} > {kind} {base_error:.2%} "
                f"+ {gates.max_error_ratio_increase:.2%}"
            )
    base_p99 = baseline.p99_seconds if baseline is not None else None
    if canary.p99_seconds is not None and base_p99 is not None:
        limit = base_p99 * gates.max_p99_ratio + gates.p99_tolerance_seconds
        if canary.p99_seconds > limit:
            reasons.append(
                f"canary p99 {canary.p99_seconds * 1000:.0f} ms > {kind} "
                f"{base_p99 * 1000:.0f} ms x {gates.max_p99_ratio:g} "
                f"+ {gates.p99_tolerance_seconds * 1000:.0f} ms"
            )
    return Analysis(
        step=step,
        share=share,
        window_seconds=window_seconds,
        stable=stable,
        canary=canary,
        baseline=kind,
        passed=not reasons,
        reasons=reasons,
    )


def analyse(
    prom: Prometheus,
    gates: RolloutSettings,
    step: int,
    share: int,
    window_seconds: float,
    previous: Series | None,
) -> Analysis:
    """Query both tracks and judge (RolloutPaused when Prometheus cannot be asked)."""
    at = time.time()
    stable = series(prom, gates.stable_selector, window_seconds, at)
    canary = series(prom, gates.canary_selector, window_seconds, at)
    return judge(step, share, window_seconds, stable, canary, previous, gates)
