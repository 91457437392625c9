"""Rate-limit decisions per second on one Redis connection, against baselines measured in the
same run on the same private redis-server (sequential awaits, so one connection each):

  PING (redis-py)    the server's round trip through the standard client (redis.asyncio);
  PING (same path)   PING through the limiter's own lean connection path: the floor of what
                     any command could reach that way (a stricter, informational baseline);
  limits             the `limits` library's fixed-window `hit` on its redis storage (redis-py).

Goal: decisions >= 0.85x PING (redis-py) and >= 1.3x limits. Rounds are short and interleaved
and the best round of each candidate is kept, so load from other processes on the machine
hits every candidate alike. Run: `.venv/bin/python bench/bench_ratelimit.py [--ops N]
[--rounds R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.redis_server import RedisServer  # noqa: E402


async def rate(op: Callable[[int], Awaitable[object]], ops: int) -> float:
    for i in range(20):  # warm-up (connections, script cache)
        await op(i)
    start = time.perf_counter()
    for i in range(ops):
        await op(i)
    return ops / (time.perf_counter() - start)


async def run(url: str, ops: int, rounds: int) -> dict[str, float]:
    import redis.asyncio as aioredis
    from limits import RateLimitItemPerSecond
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import FixedWindowRateLimiter

    from sphinxctl.ratelimit import RateLimiter, RateLimitRule, RedisBackend

    ping_client = aioredis.Redis.from_url(url)
    backend = RedisBackend(url)
    limiter = RateLimiter(backend, failure_mode="closed")
    rule = RateLimitRule(capacity=1_000_000_000, refill_per_second=1_000_000)
    storage = RedisStorage(url.replace("redis://", "async+redis://"), implementation="redispy")
    fixed = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(1_000_000_000)
    keys = [f"user-{i}" for i in range(64)]

    async def ping(i: int) -> object:
        return await ping_client.ping()

    async def ping_same_path(i: int) -> object:
        return await backend.ping()

    async def decide(i: int) -> object:
        decision = await limiter.decide(keys[i & 63], rule)
        if decision.source != "redis" or not decision.allowed:
            raise RuntimeError(f"unexpected decision {decision}")
        return decision

    async def hit(i: int) -> object:
        return await fixed.hit(item, keys[i & 63])

    candidates = {"ping": ping, "ping_same_path": ping_same_path, "decide": decide, "limits": hit}
    best = dict.fromkeys(candidates, 0.0)
    for _ in range(rounds):
        for name, op in candidates.items():
            best[name] = max(best[name], await rate(op, ops))
    await ping_client.aclose()
    await limiter.aclose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description="token-bucket decisions/s vs PING and limits")
    parser.add_argument("--ops", type=int, default=1_000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with RedisServer() as server:
        best = asyncio.run(run(server.url, args.ops, args.rounds))
    vs_ping = best["decide"] / best["ping"]
    vs_path = best["decide"] / best["ping_same_path"]
    vs_limits = best["decide"] / best["limits"]
    print(f"redis PING (redis-py)        {best['ping']:>10,.0f} ops/s")
    print(f"redis PING (same path)       {best['ping_same_path']:>10,.0f} ops/s")
    print(f"token bucket decide          {best['decide']:>10,.0f} decisions/s")
    print(f"limits fixed-window hit      {best['limits']:>10,.0f} hits/s")
    print(
        f"decide / PING (redis-py)   = {vs_ping:.2f}x  goal >= 0.85x: "
        f"{'met' if vs_ping >= 0.85 else 'MISSED'}"
    )
    print(
        f"decide / limits            = {vs_limits:.2f}x  goal >= 1.30x: "
        f"{'met' if vs_limits >= 1.3 else 'MISSED'}"
    )
    print(f"decide / PING (same path)  = {vs_path:.2f}x  (informational: the Lua script's cost)")


if __name__ == "__main__":
    main()
