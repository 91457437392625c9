"""API throughput and latency under `wrk`: the authenticated, rate-limited GET against a bare
FastAPI app, both on the same uvicorn setup (uvloop + httptools, one worker, same machine,
same run).

  ceiling   a trivial HTTP responder (uvloop, fixed reply): what wrk itself reaches here, so
            the servers below are shown to be the limit, not the generator; wrk's own CPU
            time per run is printed as well;
  baseline  a bare FastAPI app, one `GET /health` route;
  sphinx    `create_app` on a private Redis: `GET /health`, and `GET /api/v1/auth/whoami`
            with a bearer token (JWT verified, revocation + token bucket in one EVALSHA, the
            full middleware stack, JSON access log to /dev/null).
Rounds alternate between the targets; the median round counts; p50/p99 come from wrk's
`--latency` distribution. Goal: whoami >= 0.5x the baseline's requests/s and p99 <= 2x.
Then: the access log's cost per line (old generic path vs the access-line path) and its share
of a request; and `sphinxctl serve --workers 2` against `--workers 1` on whoami.

Run: .venv/bin/python bench/bench_api.py [--seconds S] [--rounds R] [--connections C]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def serve_ceiling(port: int) -> None:
    """Answers every request on a connection with the same tiny 200 (no parsing beyond
    counting request ends): the fastest server Python can offer wrk here."""
    import asyncio

    import uvloop

    reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"

    class Responder(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(reply * data.count(b"\r\n\r\n"))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Responder, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(main())


def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    from sphinxctl.api.server import ServeOptions, uvicorn_config_kwargs

    options = ServeOptions(host="127.0.0.1", port=port, workers=1, log_level="warning")
    uvicorn.Server(uvicorn.Config(app, **uvicorn_config_kwargs(options))).run()


def serve_baseline(port: int) -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    _uvicorn(app, port)


def serve_sphinx(port: int, config_dir: str) -> None:
    from sphinxctl.api.app import create_app
    from sphinxctl.api.logs import configure_logging
    from sphinxctl.settings import load_settings

    configure_logging("info", open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the server
    settings = load_settings("local", Path(config_dir)).settings
    _uvicorn(
        create_app(settings, Path(config_dir).parent, poll_interval=3600, settle_heap=True), port
    )


def start(args: list[str], port: int, health: str = "/health") -> subprocess.Popen[bytes]:
    import httpx

    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() can kill it whole
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server {args} did not start")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process `pid` so far (/proc/<pid>/stat)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM, then SIGKILL (the process group's workers too) if it lingers: a loaded
    machine can stretch a graceful shutdown past any wait worth making."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, headers: dict[str, str]) -> dict[str, float]:
    """One wrk run: requests/s, p50/p99 (ms), non-2xx count, wrk's CPU seconds."""
    args = [WRK, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {
        pct: float(value) * _UNIT[unit]
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": latency["50"],
        "p99": latency["99"],
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
        "cpu": cpu,
        "seconds": seconds,
        "requests": float(done.group(1)) if done else rps * seconds,
    }


def project(tmp: Path, redis_url: str) -> tuple[Path, str]:
    """A config whose only external part is Redis (the GETs touch no chain)."""
    from tests.support.api_env import base_config, link_project, load, tokens_for, write_config

    link_project(tmp)
    config = base_config(redis_url)
    config["api"]["workers"] = 1
    config_dir = write_config(tmp, config)
    token = tokens_for(load(config_dir), tmp)["viewer"]
    return config_dir, token


def access_log_cost(lines: int = 20_000) -> tuple[float, float]:
    """Microseconds per access line: the generic log_event path (before) and access_line."""
    import logging

    from sphinxctl.api.logs import (
        ACCESS_LOGGER,
        access_line,
        configure_logging,
        log_event,
        redact_query,
        scrub,
    )

    saved = [(n, logging.getLogger(n).handlers[:]) for n in ("sphinxctl", "uvicorn")]
    sink = open(os.devnull, "w")  # noqa: SIM115
    configure_logging("info", sink)
    fields: dict[str, Any] = {
        "request_id": "0" * 32,
        "method": "GET",
        "route": "/api/v1/auth/whoami",
        "status": 200,
        "duration_ms": 1.234,
        "client": "127.0.0.1",
        "role": "viewer",
    }
    start = time.perf_counter()
    for _ in range(lines):
        log_event(ACCESS_LOGGER, "request", path="/api/v1/auth/whoami", query=redact_query(""),
                  sub="test-viewer", user_agent="wrk", **fields)  # fmt: skip
    before = (time.perf_counter() - start) / lines * 1e6
    start = time.perf_counter()
    for _ in range(lines):
        access_line({**fields, "path": scrub("/api/v1/auth/whoami"), "query": "",
                     "sub": scrub("test-viewer"), "user_agent": scrub("wrk")})  # fmt: skip
    after = (time.perf_counter() - start) / lines * 1e6
    for name, handlers in saved:
        logging.getLogger(name).handlers = handlers
    sink.close()
    return before, after


def workers_scaling(tmp: Path, config_dir: Path, token: str, seconds: float) -> dict[int, float]:
    """whoami requests/s from `sphinxctl serve --workers N` (N = 1, 2), access log off."""
    from tests.support.ports import free_port

    sphinxctl = str(Path(sys.executable).with_name("sphinxctl"))
    results: dict[int, float] = {}
    for workers in (1, 2):
        port = free_port()
        process = subprocess.Popen(
            [sphinxctl, "--config-dir", str(config_dir), "-e", "local", "serve", "--host",
             "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level",
             "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait(port)
            url = f"http://127.0.0.1:{port}/api/v1/auth/whoami"
            auth = {"Authorization": f"Bearer {token}"}
            wrk(url, 1, 64, auth)  # warm every worker
            results[workers] = wrk(url, seconds, 64, auth)["rps"]
        finally:
            stop(process, 30)
    return results


def _wait(port: int) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("sphinxctl serve did not start")


def chain_routes(seconds: float) -> dict[str, dict[str, float]]:
    """`--routes`: a deployed two-chain devnet (anvil) with minted tokens; wrk on the rarity
    read and the vault read (each does RPC calls to anvil per request)."""
    from tests.support.api_env import DevnetProject, tokens_for
    from tests.support.ports import free_port
    from tests.support.redis_server import RedisServer

    with RedisServer() as redis:
        devnet = DevnetProject(redis.url).start()
        try:
            token = tokens_for(devnet.settings, devnet.root)
            config_dir = devnet.root / "environments"
            port = free_port()
            server = start(["--serve-sphinx", str(port), str(config_dir)], port)
            try:
                import httpx

                base = f"http://127.0.0.1:{port}/api/v1"
                mint = {"Authorization": f"Bearer {token['minter']}"}
                for score in (100, 700, 400):
                    body = {"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                            "phi_score": score}  # fmt: skip
                    httpx.post(f"{base}/nfts/ethereum/mint", json=body, headers=mint, timeout=60)
                auth = {"Authorization": f"Bearer {token['viewer']}"}
                routes = {
                    "rarity read": f"{base}/nfts/ethereum/rarity?ids=1,2,3",
                    "vault read": f"{base}/vault/ethereum",
                    "token read": f"{base}/nfts/ethereum/1",
                }
                results = {}
                for name, url in routes.items():
                    wrk(url, 1, 16, auth)
                    results[name] = wrk(url, seconds, 16, auth)
                return results
            finally:
                stop(server)
        finally:
            devnet.destroy()


def main() -> None:
    from tests.support.ports import free_port
    from tests.support.redis_server import RedisServer

    parser = argparse.ArgumentParser(description="API req/s and latency under wrk")
    parser.add_argument("--seconds", type=float, default=4.0, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--routes", action="store_true", help="only the chain routes (rarity, vault) on anvil"
    )
    args = parser.parse_args()
    if args.routes:
        for name, run in chain_routes(args.seconds).items():
            print(
                f"{name:<12} {run['rps']:>8,.0f} req/s  p50 {run['p50']:.2f} ms  "
                f"p99 {run['p99']:.2f} ms  non-2xx {run['non2xx']:.0f}  (wrk -c16, 1 worker)"
            )
        return
    if not Path(WRK).exists():
        raise SystemExit("wrk is not installed (scripts/setup.sh installs it)")

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    redis = RedisServer().start()
    servers: list[subprocess.Popen[bytes]] = []
    results: dict[str, list[dict[str, float]]] = {}
    try:
        config_dir, token = project(tmp, redis.url)
        ports = {name: free_port() for name in ("ceiling", "baseline", "sphinx")}
        servers.append(start(["--serve-ceiling", str(ports["ceiling"])], ports["ceiling"]))
        servers.append(start(["--serve-baseline", str(ports["baseline"])], ports["baseline"]))
        servers.append(
            start(["--serve-sphinx", str(ports["sphinx"]), str(config_dir)], ports["sphinx"])
        )
        auth = {"Authorization": f"Bearer {token}"}
        targets = {
            "ceiling": (f"http://127.0.0.1:{ports['ceiling']}/", {}),
            "baseline": (f"http://127.0.0.1:{ports['baseline']}/health", {}),
            "sphinx /health": (f"http://127.0.0.1:{ports['sphinx']}/health", {}),
            "sphinx whoami": (f"http://127.0.0.1:{ports['sphinx']}/api/v1/auth/whoami", auth),
        }
        for url, headers in targets.values():
            wrk(url, 1, args.connections, headers)  # warm-up: connections, caches, script
        redis.command("CONFIG", "RESETSTAT")
        whoami_requests = 0.0
        pids = dict(zip(targets, [s.pid for s in servers] + [servers[-1].pid], strict=True))
        redis_pid = redis.process.pid if redis.process is not None else None
        for _ in range(args.rounds):
            for name, (url, headers) in targets.items():
                server_cpu, redis_cpu = cpu_seconds(pids[name]), cpu_seconds(redis_pid)
                run = wrk(url, args.seconds, args.connections, headers)
                requests = max(1.0, run["requests"])
                run["server_us"] = (cpu_seconds(pids[name]) - server_cpu) / requests * 1e6
                run["redis_us"] = (cpu_seconds(redis_pid) - redis_cpu) / requests * 1e6
                results.setdefault(name, []).append(run)
                if name == "sphinx whoami":
                    whoami_requests += run["requests"]
        calls = _commandstats(redis)
        fallbacks = _backend_errors(ports["sphinx"])
        for server in servers:
            stop(server)
        servers.clear()
        scaling = workers_scaling(tmp, config_dir, token, args.seconds)
    finally:
        for server in servers:
            stop(server)
        redis.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    report(results, args, calls, whoami_requests, access_log_cost(), scaling, fallbacks)


def _backend_errors(port: int) -> float:
    """sphinxos_rate_limit_backend_errors_total of the sphinx server: 0 means every whoami
    was decided by Redis (no request took the cheaper local fallback)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = re.search(r"^sphinxos_rate_limit_backend_errors_total\s+([\d.e+]+)$", text, re.M)
    return float(found.group(1)) if found else float("nan")


def _commandstats(redis: Any) -> dict[str, int]:
    calls: dict[str, int] = {}
    for line in str(redis.command("INFO", "commandstats")).splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line[len("cmdstat_") :].partition(":")
            calls[name] = int(rest.split("calls=")[1].split(",")[0])
    return calls


def report(
    results: dict[str, list[dict[str, float]]],
    args: argparse.Namespace,
    calls: dict[str, int],
    whoami_requests: float,
    log_cost: tuple[float, float],
    scaling: dict[int, float],
    fallbacks: float,
) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(
        f"wrk -t1 -c{args.connections} -d{args.seconds:g}s --latency, {args.rounds} alternating "
        "rounds, median; one uvicorn worker each (uvloop + httptools)"
    )
    print(
        f"{'target':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'wrk CPU':>9}{'non-2xx':>9}"
        f"{'CPU us/req':>12}{'+Redis':>8}"
    )
    for name in results:
        cpu_share = median(name, "cpu") / args.seconds
        bad = sum(r["non2xx"] + r["socket_errors"] for r in results[name])
        print(
            f"{name:<16}{median(name, 'rps'):>10,.0f}{median(name, 'p50'):>9.2f}"
            f"{median(name, 'p99'):>9.2f}{cpu_share:>8.0%}{bad:>9.0f}"
            f"{median(name, 'server_us'):>12.0f}{median(name, 'redis_us'):>8.0f}"
        )
    ceiling, base = median("ceiling", "rps"), median("baseline", "rps")
    whoami = median("sphinx whoami", "rps")
    print(
        f"generator: wrk reaches {ceiling:,.0f} req/s against the trivial server, "
        f"{ceiling / max(base, whoami):.1f}x the fastest server measured: wrk is not the limit"
    )
    throughput = whoami / base
    latency = median("sphinx whoami", "p99") / median("baseline", "p99")
    health = median("sphinx /health", "rps") / base
    pairs = list(zip(results["sphinx whoami"], results["baseline"], strict=True))
    round_rps = statistics.median(w["rps"] / b["rps"] for w, b in pairs)
    round_p99 = statistics.median(w["p99"] / b["p99"] for w, b in pairs)
    print(
        f"whoami / bare FastAPI: throughput {throughput:.2f}x (goal >= 0.5x), "
        f"p99 {latency:.2f}x (goal <= 2x); sphinx /health {health:.2f}x"
    )
    print(f"  per round (adjacent runs, median): throughput {round_rps:.2f}x, p99 {round_p99:.2f}x")
    # Commands run inside scripts are counted by commandstats too; EVAL is the replica
    # heartbeat (every redis.heartbeat_seconds, not per request).
    inside = {"exists", "time", "hmget", "hset", "pexpire", "zadd", "zcard", "zremrangebyscore"}
    evalsha = calls.get("evalsha", 0)
    others = {
        k: v
        for k, v in calls.items()
        if k not in inside | {"evalsha", "eval"} and not k.startswith(("info", "config"))
    }
    per_request = (evalsha + sum(others.values())) / max(1.0, whoami_requests)
    print(
        f"redis commands per whoami request: {per_request:.2f} "
        f"({evalsha:,} EVALSHA for {whoami_requests:,.0f} requests; other client commands: "
        f"{others or 'none'}; heartbeat EVALs in the run: {calls.get('eval', 0)})"
    )
    print(
        f"rate-limit backend errors during the rounds: {fallbacks:.0f} "
        "(0: every decision came from Redis, none from the local fallback)"
    )
    before, after = log_cost
    print(
        f"access log: {before:.1f} us/line before (log_event), {after:.1f} us/line now; "
        f"share of a whoami request at {whoami:,.0f} req/s: "
        f"{before * whoami / 1e6:.1%} before, {after * whoami / 1e6:.1%} now"
    )
    if scaling:
        print(
            f"workers: whoami {scaling[1]:,.0f} req/s with 1 worker, {scaling[2]:,.0f} with 2 "
            f"= {scaling[2] / scaling[1]:.2f}x (2 cores, shared with wrk and Redis)"
        )
    ok = throughput >= 0.5 and latency <= 2.0
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-ceiling":
        serve_ceiling(int(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve-baseline":
        serve_baseline(int(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "--serve-sphinx":
        serve_sphinx(int(sys.argv[2]), sys.argv[3])
    else:
        main()
