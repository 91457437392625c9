"""The token-bucket algorithm, as a pure function both backends follow.

A bucket holds up to `capacity` tokens and gains `refill_per_second` tokens per second. A
request of cost `c` is admitted when at least `c` tokens are present, and takes them. A cost
above the capacity can never be admitted: it is rejected without touching the bucket and its
`retry_after` is None. The Redis backend's Lua script implements the same steps.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sphinxctl.settings.sections import RateLimitRule

Source = Literal["redis", "memory", "local", "fail-open", "fail-closed"]


class Decision(BaseModel):
    """The answer for one request.

    allowed: admit it. remaining: whole tokens left after it. retry_after: seconds until a
    retry of the same cost could be admitted (0 when allowed; None when the cost exceeds the
    capacity and never can be). reset_after: seconds until the bucket is full again.
    limit: the capacity applied. source: who decided ('redis', 'memory', or while Redis is
    down the failure mode: 'local', 'fail-open', 'fail-closed'). revoked: whether the token
    id passed along was found revoked (None: not looked up); a revoked token takes nothing.
    """

    model_config = ConfigDict(frozen=True)

    allowed: bool
    remaining: int
    retry_after: float | None
    reset_after: float
    limit: int
    source: Source
    revoked: bool | None = None


class BucketState(BaseModel):
    """Tokens present at time `at` (seconds on the backend's clock)."""

    tokens: float
    at: float


def check_cost(cost: int) -> int:
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        raise ValueError(f"cost must be a positive integer, got {cost!r}")
    return cost


def take(
    state: BucketState | None,
    rule: RateLimitRule,
    cost: int,
    now: float,
    source: Source = "memory",
) -> tuple[BucketState | None, Decision]:
    """Refill the bucket up to `now`, then try to take `cost` tokens.

    Returns the new state (None: unchanged, nothing to store) and the decision.
    """
    capacity, rate = float(rule.capacity), rule.refill_per_second
    if state is None:
        tokens = capacity
    else:
        tokens = min(capacity, state.tokens + max(0.0, now - state.at) * rate)
    if cost > capacity:
        return None, _decision(False, tokens, None, rule, source)
    if tokens >= cost:
        tokens -= cost
        return BucketState(tokens=tokens, at=now), _decision(True, tokens, 0.0, rule, source)
    wait = (cost - tokens) / rate
    return BucketState(tokens=tokens, at=now), _decision(False, tokens, wait, rule, source)


def _decision(
    allowed: bool, tokens: float, retry_after: float | None, rule: RateLimitRule, source: Source
) -> Decision:
    return Decision(
        allowed=allowed,
        remaining=math.floor(tokens),
        retry_after=retry_after,
        reset_after=max(0.0, (rule.capacity - tokens) / rule.refill_per_second),
        limit=rule.capacity,
        source=source,
    )
