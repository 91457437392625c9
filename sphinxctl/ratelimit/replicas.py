"""How many API processes share the rate limits: a heartbeat in Redis.

Every process (each uvicorn worker of each pod) registers a random id in the sorted set
`sphinx:replicas`, scored by Redis's clock, every `redis.heartbeat_seconds`; ids not renewed
within three intervals drop out. The script's reply, the live count, becomes the limiter's
`replicas`, which divides the local fallback's limits. While Redis is down the last count
stays (the replicas did not change because Redis went away); a process leaving removes itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinxctl.ratelimit.limiter import RateLimiter

EXPIRY_INTERVALS = 3


class ReplicaHeartbeat:
    """Keeps `limiter.replicas` at the live count of processes (see the module docstring)."""

    def __init__(self, limiter: RateLimiter, interval: float) -> None:
        self.limiter = limiter
        self.interval = interval
        self.replica_id = secrets.token_hex(8)
        self.beats = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def ttl(self) -> float:
        return self.interval * EXPIRY_INTERVALS

    async def beat(self) -> int | None:
        """Register once; the live count (None when Redis did not answer)."""
        backend = self.limiter.backend
        try:
            count = await backend.heartbeat(self.replica_id, self.ttl)  # type: ignore[union-attr]
        except self.limiter.backend.errors:
            return None
        self.beats += 1
        self.limiter.replicas = count
        return int(count)

    def start(self) -> None:
        if self._task is None and hasattr(self.limiter.backend, "heartbeat"):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop beating and leave the set (best effort: Redis may be gone)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(*self.limiter.backend.errors):
            await self.limiter.backend.heartbeat(  # type: ignore[union-attr]
                self.replica_id, self.ttl, alive=False
            )
