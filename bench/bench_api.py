"""API overhead: an authenticated, Redis-rate-limited GET vs a bare FastAPI /health app.

Same run, same machine, same load generator (a bounded httpx async client loop on loopback):
  baseline  a bare FastAPI app with one `GET /health` route, under uvicorn;
  sphinx    `create_app` on a private Redis: `GET /api/v1/auth/whoami` with a bearer token, so
            every request verifies a JWT, checks its revocation in Redis, takes a token from a
            Redis bucket (one EVALSHA), and passes the full middleware stack (request id,
            security headers, metrics, JSON access log to /dev/null).
Each server runs in its own process with one uvicorn worker; rounds alternate baseline/sphinx
and the median round counts. Goal: sphinx >= 0.5x the baseline's requests/s, p99 <= 2x.

Run: .venv/bin/python bench/bench_api.py [requests-per-round] [rounds]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONCURRENCY = 16
WARMUP = 200
TIME_LIMIT_SECONDS = 20.0


def serve_baseline(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def serve_sphinx(port: int, config_dir: str) -> None:
    import uvicorn

    from sphinxctl.api.app import create_app
    from sphinxctl.api.logs import configure_logging
    from sphinxctl.api.server import ServeOptions, uvicorn_config_kwargs
    from sphinxctl.settings import load_settings

    configure_logging("info", open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the server
    settings = load_settings("local", Path(config_dir)).settings
    app = create_app(settings, Path(config_dir).parent, poll_interval=3600)
    options = ServeOptions(host="127.0.0.1", port=port, workers=1, log_level="warning")
    uvicorn.run(app, **uvicorn_config_kwargs(options))


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    import httpx

    process = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server {args} did not start")


async def load(url: str, headers: dict[str, str], total: int) -> tuple[float, float, int]:
    """(requests/s, p99 seconds, non-2xx count) for `total` GETs by CONCURRENCY workers."""
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        for _ in range(WARMUP // CONCURRENCY):
            await asyncio.gather(*(client.get(url, headers=headers) for _ in range(CONCURRENCY)))
        latencies: list[float] = []
        failures = 0
        remaining = total
        deadline = time.monotonic() + TIME_LIMIT_SECONDS

        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(url, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, p99, failures


def project(tmp: Path, redis_url: str) -> tuple[Path, str]:
    """A config whose only external part is Redis (the GET touches no chain)."""
    from tests.api.support import base_config, link_project, load, tokens_for, write_config

    link_project(tmp)
    config = base_config(redis_url)
    config_dir = write_config(tmp, config)
    token = tokens_for(load(config_dir), tmp)["viewer"]
    return config_dir, token


def main() -> None:
    from tests.api.support import free_port
    from tests.support.redis_server import RedisServer

    total = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    redis = RedisServer().start()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        config_dir, token = project(tmp, redis.url)
        base_port, sphinx_port = free_port(), free_port()
        servers.append(start(["--serve-baseline", str(base_port)], base_port))
        servers.append(start(["--serve-sphinx", str(sphinx_port), str(config_dir)], sphinx_port))
        base_url = f"http://127.0.0.1:{base_port}/health"
        sphinx_url = f"http://127.0.0.1:{sphinx_port}/api/v1/auth/whoami"
        auth = {"Authorization": f"Bearer {token}"}
        results: dict[str, list[tuple[float, float, int]]] = {"baseline": [], "sphinx": []}
        for _ in range(rounds):
            results["baseline"].append(asyncio.run(load(base_url, {}, total)))
            results["sphinx"].append(asyncio.run(load(sphinx_url, auth, total)))
        keys = redis.command("DBSIZE")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)
        redis.destroy()
        shutil.rmtree(tmp, ignore_errors=True)

    def median(name: str, index: int) -> float:
        return statistics.median(r[index] for r in results[name])

    base_rps, sphinx_rps = median("baseline", 0), median("sphinx", 0)
    base_p99, sphinx_p99 = median("baseline", 1), median("sphinx", 1)
    failures = sum(r[2] for r in results["sphinx"]) + sum(r[2] for r in results["baseline"])
    print(f"load: {total} GETs per round, {CONCURRENCY} concurrent, {rounds} rounds (median)")
    print(
        f"baseline  bare FastAPI GET /health           {base_rps:8.0f} req/s   "
        f"p99 {base_p99 * 1000:7.2f} ms"
    )
    print(
        f"sphinx    GET /api/v1/auth/whoami (JWT+Redis) {sphinx_rps:8.0f} req/s   "
        f"p99 {sphinx_p99 * 1000:7.2f} ms"
    )
    throughput, latency = sphinx_rps / base_rps, sphinx_p99 / base_p99
    print(
        f"throughput ratio {throughput:.2f}x (goal >= 0.5x)   "
        f"p99 ratio {latency:.2f}x (goal <= 2x)   non-200 responses: {failures}   "
        f"redis keys after: {keys}"
    )
    ok = throughput >= 0.5 and latency <= 2.0 and failures == 0
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-baseline":
        serve_baseline(int(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "--serve-sphinx":
        serve_sphinx(int(sys.argv[2]), sys.argv[3])
    else:
        main()
