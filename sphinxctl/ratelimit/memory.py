"""In-memory token buckets (one process): tests, single-replica runs, and the `local` fallback."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from sphinxctl.ratelimit.bucket import BucketState, Decision, Source, check_cost, take
from sphinxctl.settings.sections import RateLimitRule

DEFAULT_MAX_BUCKETS = 100_000


class MemoryBackend:
    """Buckets in a bounded LRU map (the least recently used bucket is dropped first, which at
    worst hands that client a full bucket again). Decisions never await, so they are atomic
    within one event loop."""

    errors: tuple[type[BaseException], ...] = ()  # never fails

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
        source: Source = "memory",
        seed: Callable[[str, RateLimitRule, float], BucketState] | None = None,
    ) -> None:
        """`seed(key, rule, now)` gives a bucket seen for the first time its starting state
        (default: full)."""
        self._clock = clock
        self._seed = seed
        self._max = max_buckets
        self._source = source
        self._buckets: OrderedDict[str, BucketState] = OrderedDict()

    def decide_now(self, key: str, rule: RateLimitRule, cost: int = 1) -> Decision:
        """Synchronous decision (the async `decide` wraps this)."""
        check_cost(cost)
        now = self._clock()
        state = self._buckets.get(key)
        if state is None and self._seed is not None:
            state = self._seed(key, rule, now)
        state, decision = take(state, rule, cost, now, self._source)
        if state is not None:
            self._buckets[key] = state
            self._buckets.move_to_end(key)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return decision

    async def decide(self, key: str, rule: RateLimitRule, cost: int = 1) -> Decision:
        return self.decide_now(key, rule, cost)

    def states(self) -> list[tuple[str, BucketState]]:
        """Every bucket's last stored state, least recently used first."""
        return list(self._buckets.items())

    def clear(self) -> None:
        self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)
