"""Rate-limit decisions per second on one Redis connection, against two baselines measured in
the same run on the same private redis-server:

  PING       the server's round-trip floor through the same client (redis.asyncio);
  limits     the `limits` library's fixed-window `hit` on its redis storage (redis-py).

Goal: decisions >= 0.85x PING and >= 1.3x limits. Run: `.venv/bin/python bench/bench_ratelimit.py`
(options: --ops N per round, --rounds R; the best round of each is reported).
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
    for i in range(100):  # warm-up (connections, script cache)
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
    limiter = RateLimiter(RedisBackend(aioredis.Redis.from_url(url)), failure_mode="closed")
    rule = RateLimitRule(capacity=1_000_000_000, refill_per_second=1_000_000)
    storage = RedisStorage(url.replace("redis://", "async+redis://"), implementation="redispy")
    fixed = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(1_000_000_000)
    keys = [f"user-{i % 64}" for i in range(64)]

    async def ping(i: int) -> object:
        return await ping_client.ping()

    async def decide(i: int) -> object:
        decision = await limiter.decide(keys[i & 63], rule)
        assert decision.source == "redis"
        return decision

    async def hit(i: int) -> object:
        return await fixed.hit(item, keys[i & 63])

    best = {"ping": 0.0, "decide": 0.0, "limits": 0.0}
    for _ in range(rounds):  # interleaved rounds: drift hits every candidate alike
        best["ping"] = max(best["ping"], await rate(ping, ops))
        best["decide"] = max(best["decide"], await rate(decide, ops))
        best["limits"] = max(best["limits"], await rate(hit, ops))
    await ping_client.aclose()
    await limiter.aclose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    with RedisServer() as server:
        best = asyncio.run(run(server.url, args.ops, args.rounds))
    vs_ping = best["decide"] / best["ping"]
    vs_limits = best["decide"] / best["limits"]
    print(f"redis PING             {best['ping']:>10,.0f} ops/s")
    print(f"token bucket decide    {best['decide']:>10,.0f} decisions/s")
    print(f"limits fixed-window    {best['limits']:>10,.0f} hits/s")
    print(f"decide / PING    = {vs_ping:.2f}x  (goal >= 0.85x) {'ok' if vs_ping >= 0.85 else 'MISSED'}")
    print(
        f"decide / limits  = {vs_limits:.2f}x  (goal >= 1.30x) "
        f"{'ok' if vs_limits >= 1.3 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
