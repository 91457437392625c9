"""Audit appends per second (hash chain, chain-head lock, redaction) against a baseline measured
in the same run on the same database: a plain single-row INSERT + COMMIT into a table of the
same shape through the same pooled engine (what any durable per-event write costs).

Runs on SQLite (file) and on a private PostgreSQL server. An append is one transaction of three
statements (locked read of the chain head, INSERT, head UPDATE) plus redaction and hashing,
against the baseline's one INSERT; the ratio shows what the chain costs. Rounds are interleaved
and the best of each kept. Run: `.venv/bin/python bench/bench_store.py [--ops N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres_server import PostgresServer  # noqa: E402


def _rate(op: Callable[[int], object], ops: int) -> float:
    start = time.perf_counter()
    for i in range(ops):
        op(i)
    return ops / (time.perf_counter() - start)


def bench(url: str, ops: int, rounds: int) -> tuple[float, float]:
    from sqlalchemy import text

    from sphinxctl.store import Store

    with Store.from_url(url) as store:
        store.migrate()
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, actor TEXT, "
                    "action TEXT, target TEXT, params TEXT, result TEXT)"
                )
            )

        def append(i: int) -> None:
            store.append_audit("bench", "admin", "pause", "ethereum/X", {"i": i, "token": "t"})

        counter = [0]

        def plain(i: int) -> None:
            counter[0] += 1
            with store.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO bench_plain VALUES (:id, 'bench', 'pause', 'ethereum/X', "
                        ":p, 'ok')"
                    ),
                    {"id": counter[0], "p": f'{{"i":{i}}}'},
                )

        for i in range(20):  # warm-up
            append(i)
            plain(i)
        best_append = best_plain = 0.0
        for _ in range(rounds):
            best_plain = max(best_plain, _rate(plain, ops))
            best_append = max(best_append, _rate(append, ops))
        assert store.verify_audit().ok
        return best_append, best_plain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg:
        targets = {"sqlite": f"sqlite:///{tmp}/bench.db", "postgresql": pg.create_database()}
        for name, url in targets.items():
            appends, plain = bench(url, args.ops, args.rounds)
            print(
                f"{name:<10} audit appends {appends:8.0f}/s   plain INSERT {plain:8.0f}/s   "
                f"ratio {appends / plain:.2f}x"
            )


if __name__ == "__main__":
    main()
