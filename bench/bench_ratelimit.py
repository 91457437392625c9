"""Rate-limit decisions per second under 64 concurrent callers, against the `limits` library's
async strategy under the same load, on the same private redis-server in the same run.

  decide    RateLimiter(RedisBackend) on one shared backend: its pipelined connections
            (64 commands in flight each, at most redis.max_connections) serve all 64
            callers, one EVALSHA per decision;
  limits    limits.aio's MovingWindowRateLimiter `hit` (also one script per hit) on its async
            redis storage (redis-py's shared pool, unbounded: it opens one connection per
            concurrent caller);
  PING      redis-py asyncio PING on a shared blocking pool of 32 connections: the server's
            round trip at that concurrency, a floor for any one-command decision
            (informational).
Every candidate runs 64 tasks for a fixed number of operations; rounds alternate and the
median round counts. (The former goal of 1.3x `limits` on ONE connection is retired: both
are one round trip there, so a ratio above 1 measured the client, not the algorithm.)
Prints decisions/s and the ratio to `limits`; any error or non-Redis decision fails the run.

Run: .venv/bin/python bench/bench_ratelimit.py [--ops N] [--rounds R] [--callers C]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.redis_server import RedisServer  # noqa: E402


async def rate(op: Callable[[int], Awaitable[object]], ops: int, callers: int) -> float:
    """Operations per second with `callers` tasks sharing `ops` operations."""
    per_caller = ops // callers

    async def caller(offset: int) -> None:
        for i in range(per_caller):
            await op(offset * per_caller + i)

    await asyncio.gather(*(caller(c) for c in range(callers)))  # warm-up: pools fill
    start = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in range(callers)))
    return per_caller * callers / (time.perf_counter() - start)


async def run(url: str, ops: int, rounds: int, callers: int) -> dict[str, list[float]]:
    import redis.asyncio as aioredis
    from limits import RateLimitItemPerSecond
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    from sphinxctl.ratelimit import RateLimiter, RateLimitRule, RedisBackend

    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=10)
    ping_client = aioredis.Redis(connection_pool=pool)
    backend = RedisBackend(url, timeout=5.0)
    limiter = RateLimiter(backend, failure_mode="closed")
    rule = RateLimitRule(capacity=1_000_000_000, refill_per_second=1_000_000)
    storage = RedisStorage(url.replace("redis://", "async+redis://"), implementation="redispy")
    moving = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(1_000_000_000)
    keys = [f"user-{i}" for i in range(256)]

    async def ping(i: int) -> object:
        return await ping_client.ping()

    async def decide(i: int) -> object:
        decision = await limiter.decide(keys[i & 255], rule)
        if decision.source != "redis" or not decision.allowed:
            raise RuntimeError(f"unexpected decision {decision} ({limiter.last_error})")
        return decision

    async def hit(i: int) -> object:
        if not await moving.hit(item, keys[i & 255]):
            raise RuntimeError("limits refused a hit far below its limit")
        return True

    candidates = {"PING": ping, "decide": decide, "limits": hit}
    results: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, op in candidates.items():
            results[name].append(await rate(op, ops, callers))
    await ping_client.aclose()
    await limiter.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="decisions/s under concurrency vs limits")
    parser.add_argument("--ops", type=int, default=6_400, help="operations per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--callers", type=int, default=64)
    args = parser.parse_args()
    with RedisServer() as server:
        results = asyncio.run(run(server.url, args.ops, args.rounds, args.callers))
    median = {name: statistics.median(values) for name, values in results.items()}
    print(
        f"{args.callers} concurrent callers, {args.ops} operations per round, "
        f"{args.rounds} alternating rounds (median)"
    )
    print(f"redis PING (redis-py pool)        {median['PING']:>10,.0f} ops/s")
    print(f"token bucket decide (one pool)    {median['decide']:>10,.0f} decisions/s")
    print(f"limits moving-window hit (async)  {median['limits']:>10,.0f} hits/s")
    print(f"decide / limits = {median['decide'] / median['limits']:.2f}x")
    print(f"decide / PING   = {median['decide'] / median['PING']:.2f}x (informational)")


if __name__ == "__main__":
    main()
