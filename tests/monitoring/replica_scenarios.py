"""Ten API replicas, some idle, for every alert that aggregates across replicas.

Each scenario gives one alert two fleets of ten replicas: a quiet one (three replicas serve,
seven are idle or fresh: counters flat at 0, gauges not yet polled, or replicas scaled away)
that must not page, and one where the real condition holds — with the idle replicas still
there — that must. `python -m tests.monitoring.replica_scenarios` writes them as promtool unit
tests to alert_rules/tests/replicas_*_test.yaml; tests/monitoring/test_idle_replicas.py
checks that file is current, covers every such alert, and passes promtool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = ROOT / "alert_rules" / "tests"
# One promtool file per rule file (plus the files of the recording rules its alerts read): each
# step evaluates only those rules. Scenarios spanning hours or a day go to `*_long_test.yaml`,
# evaluated every 5 minutes.
PREFIX = "replicas_"
REPLICAS = 10
BUSY = 3  # replicas 0..2 serve; 3..9 are idle


@dataclass(frozen=True)
class Series:
    metric: str
    labels: dict[str, str]
    values: str

    def line(self) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"      - series: '{self.metric}{{{inner}}}'\n        values: '{self.values}'\n"


@dataclass
class Scenario:
    alert: str
    quiet: list[Series]
    firing: list[Series]
    eval_time: str
    why: str
    interval: str = "1m"
    fires: int = 1
    extra_quiet: list[tuple[str, list[Series]]] = field(default_factory=list)


def replica(i: int) -> dict[str, str]:
    return {"job": "sphinx-api", "instance": f"10.0.0.{i}:9100", "pod": f"sphinx-api-{i}"}


def fleet(
    metric: str, busy: str | list[str], idle: str | None, busy_count: int = BUSY, **labels: Any
) -> list[Series]:
    """Ten replicas of one series: the first `busy_count` with `busy` values (one string for
    all, or one each), the rest with `idle` (None: the idle replicas have no such series)."""
    out = []
    for i in range(REPLICAS):
        if i < busy_count:
            values = busy if isinstance(busy, str) else busy[i]
        elif idle is None:
            continue
        else:
            values = idle
        out.append(Series(metric, {**replica(i), **labels}, values))
    return out


def steps(per: int, total: int, every: int = 1) -> str:
    """A counter stepping by `per` every `every` samples, `total` samples long."""
    return " ".join(str(per * (t // every)) for t in range(total))


def histogram(
    metric: str, per_minute: dict[str, int], idle: bool, n: int, **labels: Any
) -> list[Series]:
    """`_bucket` series of one histogram: busy replicas add `per_minute[le]` a minute."""
    out: list[Series] = []
    for le, rate in per_minute.items():
        out += fleet(
            f"{metric}_bucket", f"0+{rate}x{n}", f"0x{n}" if idle else None, le=le, **labels
        )
    return out


N = 40
FAST_DB = {"0.1": 100, "0.5": 100, "1.0": 100, "+Inf": 100}
SLOW_DB = {"0.1": 0, "0.5": 0, "1.0": 100, "+Inf": 100}
FAST_API = {"0.1": 600, "1.0": 600, "2.5": 600, "5.0": 600, "+Inf": 600}
SLOW_API = {"0.1": 0, "1.0": 0, "2.5": 0, "5.0": 600, "+Inf": 600}
FAST_PROOF = {"0.5": 60, "1.0": 60, "5.0": 60, "10.0": 60, "+Inf": 60}
SLOW_PROOF = {"0.5": 0, "1.0": 0, "5.0": 0, "10.0": 60, "+Inf": 60}
ETH: dict[str, Any] = {"chain": "ethereum"}
DAY_5M = 288  # five-minute samples in a day


def _gauge_pair(metric: str, alert: str, why: str, bad: str, good: str) -> Scenario:
    """A poller gauge (max by chain): fresh replicas report 0 until their first poll."""
    return Scenario(
        alert,
        quiet=fleet(metric, f"{good}x{N}", f"0x{N}", **ETH),
        firing=fleet(metric, f"{good}x10 {bad}x30", f"0x{N}", **ETH),
        eval_time="25m",
        why=why,
    )


def scenarios() -> list[Scenario]:
    requests = "sphinxos_requests_total"
    api: dict[str, Any] = {"route": "/api/v1/nfts", "method": "GET"}
    out = [
        _gauge_pair(
            "sphinxos_blockchain_connected",
            "SphinxRpcConnectionLost",
            "fresh replicas report 0 before their first poll; max() hears the connected ones",
            bad="0",
            good="1",
        ),
        _gauge_pair(
            "sphinxos_node_health",
            "SphinxNodeUnhealthy",
            "fresh replicas report 0 before their first poll; max() hears the healthy ones",
            bad="0",
            good="1",
        ),
        Scenario(
            "SphinxRpcConnectionFlapping",
            quiet=fleet("sphinxos_blockchain_connected", f"1x{N}", f"0x{N}", **ETH),
            firing=fleet(
                "sphinxos_blockchain_connected",
                [" ".join(["1", "0"] * 20)] + [f"1x{N}"] * 2,
                f"0x{N}",
                **ETH,
            ),
            eval_time="30m",
            why="idle replicas hold steady; one replica's flapping connection pages",
        ),
        Scenario(
            "SphinxGasPriceHigh",
            quiet=fleet("sphinxos_gas_price_gwei", f"30x{N}", f"0x{N}", **ETH),
            firing=fleet("sphinxos_gas_price_gwei", f"150x{N}", f"0x{N}", **ETH),
            eval_time="30m",
            why="fresh replicas report 0 gwei; the max is the polled price",
        ),
        Scenario(
            "SphinxGasPriceSpike",
            interval="5m",
            quiet=fleet("sphinxos_gas_price_gwei", "30x90", "0x90", **ETH),
            firing=fleet("sphinxos_gas_price_gwei", "30x80 200x10", "0x90", **ETH),
            eval_time="440m",
            why="fresh replicas at 0 neither lower the 6 h baseline nor hide a spike",
        ),
        Scenario(
            "SphinxPendingTransactionsStuck",
            quiet=fleet("sphinxos_pending_transactions", f"2x{N}", f"2x{N}", **ETH)
            + fleet(
                "sphinxos_transactions_total",
                f"0+1x{N}",
                f"0+1x{N}",
                **ETH,
                kind="mint",
                status="confirmed",
            ),
            firing=fleet("sphinxos_pending_transactions", f"2x{N}", f"2x{N}", **ETH)
            + fleet(
                "sphinxos_transactions_total",
                f"5x{N}",
                f"5x{N}",
                **ETH,
                kind="mint",
                status="confirmed",
            ),
            eval_time="40m",
            why="every replica reports the database's pending and confirmed transactions",
        ),
        Scenario(
            "SphinxPendingTransactionsBacklog",
            quiet=fleet("sphinxos_pending_transactions", f"5x{N}", f"0x{N}", **ETH),
            firing=fleet("sphinxos_pending_transactions", f"25x{N}", f"0x{N}", **ETH),
            eval_time="25m",
            why="fresh replicas report 0 pending until their first sync",
        ),
        Scenario(
            "SphinxTransactionFailures",
            quiet=fleet(
                "sphinxos_transactions_total",
                steps(1, 41, every=10),
                steps(1, 41, every=10),
                **ETH,
                kind="mint",
                status="failed",
            ),
            firing=fleet(
                "sphinxos_transactions_total",
                f"0+1x{N}",
                f"0+1x{N}",
                **ETH,
                kind="mint",
                status="failed",
            ),
            eval_time="30m",
            why="one failure every 10 minutes, reported by all ten replicas, is one failure "
            "(a sum would count it ten times and page)",
        ),
        Scenario(
            "SphinxTransactionVolumeDrop",
            interval="5m",
            # Yesterday ten replicas, today three (seven scaled away): the same 60 an hour.
            quiet=fleet(
                "sphinxos_transactions_total",
                f"0+5x{DAY_5M + 24}",
                f"0+5x{DAY_5M} _x24",
                **ETH,
                kind="mint",
                status="confirmed",
            ),
            firing=fleet(
                "sphinxos_transactions_total",
                f"0+5x{DAY_5M} {5 * DAY_5M}+1x24",
                f"0+5x{DAY_5M} _x24",
                **ETH,
                kind="mint",
                status="confirmed",
            ),
            eval_time=f"{24 * 60 + 115}m",
            why="a scale-down from ten replicas to three is no volume drop (a sum would page)",
        ),
        Scenario(
            "SphinxYieldGenerationLow",
            interval="5m",
            quiet=fleet("sphinxos_vault_total_assets", "1000000x40", "1000000x40", **ETH)
            + fleet("sphinxos_yield_harvested_total", "0+10x40", "0x40", **ETH),
            firing=fleet("sphinxos_vault_total_assets", "1000000x40", "1000000x40", **ETH)
            + fleet("sphinxos_yield_harvested_total", "0x40", "0x40", **ETH),
            eval_time="150m",
            why="replicas started after the harvest saw none; max() hears those that did",
        ),
        Scenario(
            "SphinxVaultTvlDrop",
            quiet=fleet("sphinxos_vault_total_assets", f"1000000x{N}", f"0x{N}", **ETH),
            firing=fleet("sphinxos_vault_total_assets", "1000000x15 500000x25", f"0x{N}", **ETH),
            eval_time="35m",
            why="fresh replicas report 0 assets until their first poll",
        ),
        Scenario(
            "SphinxActiveUsersDrop",
            interval="5m",
            # Yesterday three busy replicas had 10 users each; today the same 30 users over ten.
            quiet=fleet("sphinxos_active_users", f"10x{DAY_5M} 3x30", f"0x{DAY_5M} 3x30"),
            firing=fleet("sphinxos_active_users", f"10x{DAY_5M} 2x30", f"0x{DAY_5M} 0x30"),
            eval_time=f"{24 * 60 + 140}m",
            why="users moving between replicas (or onto new ones) are not a drop",
        ),
        Scenario(
            "SphinxLargeValueTransactions",
            quiet=fleet(
                "sphinxos_transaction_value_count", f"0+2x{N}", f"0+2x{N}", **ETH, kind="mint"
            )
            + fleet(
                "sphinxos_transaction_value_bucket",
                f"0+2x{N}",
                f"0+2x{N}",
                **ETH,
                kind="mint",
                le="100.0",
            ),
            firing=fleet(
                "sphinxos_transaction_value_count",
                "0+2x10 23+2x30",
                "0+2x10 23+2x30",
                **ETH,
                kind="mint",
            )
            + fleet(
                "sphinxos_transaction_value_bucket",
                f"0+2x{N}",
                f"0+2x{N}",
                **ETH,
                kind="mint",
                le="100.0",
            ),
            eval_time="15m",
            why="every replica observes the same recorded values: small ones never page",
        ),
        Scenario(
            "SphinxApiDown",
            quiet=fleet("up", f"1x{N}", f"1x{N}"),
            firing=fleet("up", "1x5 0x35", "1x5 0x35"),
            eval_time="15m",
            why="idle replicas are up",
        ),
        Scenario(
            "SphinxApiTargetMissing",
            quiet=fleet("up", f"1x{N}", f"1x{N}"),
            firing=fleet("up", "1x5 _x35", "1x5 _x35"),
            eval_time="25m",
            why="idle replicas are still targets",
        ),
        Scenario(
            "SphinxContractPaused",
            quiet=fleet(
                "sphinxos_contract_paused", f"0x{N}", f"0x{N}", **ETH, contract="SpaceFlightNFT"
            ),
            firing=fleet(
                "sphinxos_contract_paused", f"1x{N}", f"0x{N}", **ETH, contract="SpaceFlightNFT"
            ),
            eval_time="10m",
            why="fresh replicas report unpaused (0) until their first poll",
        ),
        Scenario(
            "SphinxVaultEmergencyShutdown",
            quiet=fleet("sphinxos_vault_emergency_shutdown", f"0x{N}", f"0x{N}", **ETH),
            firing=fleet("sphinxos_vault_emergency_shutdown", f"1x{N}", f"0x{N}", **ETH),
            eval_time="10m",
            why="fresh replicas report 0 until their first poll",
        ),
        Scenario(
            "SphinxDbPoolNearlyExhausted",
            quiet=fleet("sphinxos_db_pool_size", f"5x{N}", f"5x{N}")
            + fleet("sphinxos_db_pool_checked_out", f"2x{N}", f"0x{N}"),
            firing=fleet("sphinxos_db_pool_size", f"5x{N}", f"5x{N}")
            + fleet("sphinxos_db_pool_checked_out", [f"5x{N}", f"2x{N}", f"2x{N}"], f"0x{N}"),
            eval_time="15m",
            why="an idle replica's unused pool does not dilute the busiest one",
        ),
        Scenario(
            "SphinxDbPoolExhausted",
            quiet=fleet("sphinxos_db_pool_timeouts_total", f"0x{N}", f"0x{N}"),
            firing=fleet(
                "sphinxos_db_pool_timeouts_total", [f"0+1x{N}", f"0x{N}", f"0x{N}"], f"0x{N}"
            ),
            eval_time="10m",
            why="one replica's pool timeouts page, the idle ones add nothing",
        ),
        Scenario(
            "SphinxDbPoolOverflowInUse",
            quiet=fleet("sphinxos_db_pool_overflow", f"0x{N}", f"0x{N}"),
            firing=fleet("sphinxos_db_pool_overflow", [f"2x{N}", f"0x{N}", f"0x{N}"], f"0x{N}"),
            eval_time="25m",
            why="one replica in overflow pages",
        ),
        Scenario(
            "SphinxDbSlowQueries",
            quiet=histogram(
                "sphinxos_db_query_duration_seconds", FAST_DB, True, N, operation="select"
            ),
            firing=histogram(
                "sphinxos_db_query_duration_seconds", SLOW_DB, True, N, operation="select"
            ),
            eval_time="25m",
            why="idle replicas' empty histograms neither hide nor fake slow queries",
        ),
    ]
    for alert, quantile_over in (
        ("SphinxApiLatencyP99High", 1.0),
        ("SphinxApiLatencyP99Critical", 2.5),
    ):
        out.append(
            Scenario(
                alert,
                quiet=histogram("sphinxos_api_latency_seconds", FAST_API, True, N, **api),
                firing=histogram("sphinxos_api_latency_seconds", SLOW_API, True, N, **api),
                eval_time="25m",
                why=f"idle replicas' empty histograms do not move the p99 (> {quantile_over} s)",
            )
        )
    for alert in ("SphinxApiErrorRatioHigh", "SphinxApiErrorRatioCritical"):
        out.append(
            Scenario(
                alert,
                quiet=fleet(requests, f"0+594x{N}", f"0x{N}", status="200", **api)
                + fleet(requests, f"0+6x{N}", f"0x{N}", status="500", **api),
                firing=fleet(requests, f"0+420x{N}", f"0x{N}", status="200", **api)
                + fleet(requests, f"0+180x{N}", f"0x{N}", status="500", **api),
                eval_time="25m",
                why="idle replicas serve nothing: no 0/0 ratio, no dilution",
            )
        )
    out += [
        Scenario(
            "SphinxComponentErrors",
            quiet=fleet(
                "sphinxos_errors_total", f"0+6x{N}", f"0x{N}", component="api", kind="http_500"
            ),
            firing=fleet(
                "sphinxos_errors_total", f"0+30x{N}", f"0x{N}", component="api", kind="http_500"
            ),
            eval_time="25m",
            why="errors are summed over the replicas that serve",
        ),
        Scenario(
            "SphinxProofGenerationSlow",
            quiet=histogram("sphinxos_proof_generation_seconds", FAST_PROOF, True, N),
            firing=histogram("sphinxos_proof_generation_seconds", SLOW_PROOF, True, N),
            eval_time="30m",
            why="idle replicas generated no proof: no NaN page, no dilution",
        ),
        Scenario(
            "SphinxProofVerificationSlow",
            quiet=histogram("sphinxos_proof_verification_seconds", FAST_PROOF, True, N),
            firing=histogram("sphinxos_proof_verification_seconds", SLOW_PROOF, True, N),
            eval_time="30m",
            why="idle replicas verified no proof: no NaN page, no dilution",
        ),
        Scenario(
            "SphinxSuspiciousRequests",
            # 0.15/s attacks in all, plus ordinary rejections an older replica still labels
            # 'other' (10/s): neither pages.
            quiet=fleet(
                "sphinxos_suspicious_requests_total", f"0+3x{N}", f"0x{N}", category="sql-injection"
            )
            + fleet(
                "sphinxos_suspicious_requests_total",
                f"0+600x{N}",
                None,
                busy_count=1,
                category="other",
            ),
            firing=fleet(
                "sphinxos_suspicious_requests_total", f"0+6x{N}", f"0x{N}", category="sql-injection"
            ),
            eval_time="25m",
            why="attacks are summed over replicas; ordinary 422s ('other') never count",
        ),
        Scenario(
            "SphinxSuspiciousRequestsSurge",
            quiet=fleet("sphinxos_suspicious_requests_total", f"0+30x{N}", f"0x{N}", category="xss")
            + fleet("sphinxos_suspicious_requests_total", f"0+600x{N}", None, category="other"),
            firing=fleet(
                "sphinxos_suspicious_requests_total", f"0+120x{N}", f"0x{N}", category="xss"
            ),
            eval_time="25m",
            why="attacks are summed over replicas; ordinary 422s ('other') never count",
        ),
        Scenario(
            "SphinxAuthFailuresHigh",
            quiet=fleet("sphinxos_auth_failures_total", f"0+12x{N}", f"0x{N}", reason="expired"),
            firing=fleet("sphinxos_auth_failures_total", f"0+30x{N}", f"0x{N}", reason="expired"),
            eval_time="25m",
            why="failures are summed over the replicas that serve",
        ),
        Scenario(
            "SphinxAuthFailureRatioHigh",
            quiet=fleet(requests, f"0+600x{N}", f"0x{N}", status="200", **api)
            + fleet("sphinxos_auth_failures_total", f"0+12x{N}", f"0x{N}", reason="expired"),
            firing=fleet(requests, f"0+600x{N}", f"0x{N}", status="200", **api)
            + fleet("sphinxos_auth_failures_total", f"0+300x{N}", f"0x{N}", reason="expired"),
            eval_time="25m",
            why="idle replicas serve nothing: no 0/0 ratio",
        ),
        Scenario(
            "SphinxRateLimitViolations",
            quiet=fleet(
                "sphinxos_rate_limit_exceeded_total",
                f"0+60x{N}",
                f"0x{N}",
                route="/api/v1/nfts/{chain}/mint",
            ),
            firing=fleet(
                "sphinxos_rate_limit_exceeded_total",
                f"0+120x{N}",
                f"0x{N}",
                route="/api/v1/nfts/{chain}/mint",
            ),
            eval_time="25m",
            why="refusals are summed over the replicas that serve",
        ),
        Scenario(
            "SphinxRateLimitViolationsSurge",
            quiet=fleet(
                "sphinxos_rate_limit_exceeded_total",
                f"0+600x{N}",
                f"0x{N}",
                route="/api/v1/nfts/{chain}/mint",
            ),
            firing=fleet(
                "sphinxos_rate_limit_exceeded_total",
                f"0+1200x{N}",
                f"0x{N}",
                route="/api/v1/nfts/{chain}/mint",
            ),
            eval_time="25m",
            why="refusals are summed over the replicas that serve",
        ),
        Scenario(
            "SphinxRateLimitBackendErrors",
            quiet=fleet("sphinxos_rate_limit_backend_errors_total", f"0x{N}", f"0x{N}"),
            firing=fleet("sphinxos_rate_limit_backend_errors_total", f"0+3x{N}", f"0x{N}"),
            eval_time="25m",
            why="backend errors are summed over the replicas that serve",
        ),
        Scenario(
            "SphinxRateLimitFallbackActive",
            quiet=fleet("sphinxos_rate_limit_fallback_active", f"0x{N}", f"0x{N}"),
            firing=fleet(
                "sphinxos_rate_limit_fallback_active", ["0x5 1x35", f"0x{N}", f"0x{N}"], f"0x{N}"
            ),
            eval_time="25m",
            why="one replica on its fallback pages; idle replicas report 0",
        ),
        _proofs(),
    ]
    return out


def _proofs() -> Scenario:
    proofs = "sphinxos_proofs_total"
    return Scenario(
        "SphinxProofSuccessRateLow",
        quiet=fleet(proofs, f"0+10x{N}", f"0x{N}", outcome="verified"),
        # Of the three serving, api-2's proofs fail from minute 10: 10 of 30 a minute.
        firing=[
            *fleet(
                proofs, [f"0+10x{N}", f"0+10x{N}", "0+10x10 100x30"], f"0x{N}", outcome="verified"
            ),
            Series(proofs, {**replica(2), "outcome": "failed"}, "0x10 10+10x30"),
        ],
        eval_time="30m",
        why="a replica that served no proof is no failure (the gauge of old started at 0)",
        extra_quiet=[
            (
                "all ten replicas idle: no proof at all is no failure",
                fleet(proofs, f"0x{N}", f"0x{N}", outcome="verified"),
            ),
            (
                "one failed proof among few is noise (under 20 in 10 minutes)",
                [
                    Series(proofs, {**replica(0), "outcome": "verified"}, f"0+1x{N}"),
                    Series(proofs, {**replica(0), "outcome": "failed"}, f"0 1x{N}"),
                    *fleet(proofs, f"0x{N}", f"0x{N}", busy_count=0, outcome="verified"),
                ],
            ),
        ],
    )


def _group(interval: str, series: list[Series], alert: str, eval_time: str, fires: int) -> str:
    text = f"  - interval: {interval}\n    input_series:\n"
    text += "".join(s.line() for s in series)
    if not fires:  # quiet: also as an alert test (the rule coverage counts those)
        text += "    alert_rule_test:\n"
        text += f"      - eval_time: {eval_time}\n        alertname: {alert}\n"
        text += "        exp_alerts: []\n"
    text += "    promql_expr_test:\n"
    text += (
        f'      - expr: count by (alertname) (ALERTS{{alertname="{alert}", alertstate="firing"}})\n'
    )
    text += f"        eval_time: {eval_time}\n"
    if fires:
        text += "        exp_samples:\n"
        text += f"          - labels: '{{alertname=\"{alert}\"}}'\n            value: {fires}\n"
    else:
        text += "        exp_samples: []\n"
    return text


def rule_files_for(alert: str) -> list[str]:
    """The alert's rule file and those of the recording rules it reads, transitively."""
    from sphinxctl.monitoring.rules import (
        load_alert_rules,
        load_recording_rules,
        metric_names_in_expr,
    )

    rule = next(r for r in load_alert_rules(ROOT) if r.name == alert)
    recordings = {r.name: r for r in load_recording_rules(ROOT)}
    files, seen = {rule.file}, set()
    pending = list(metric_names_in_expr(rule.expr))
    while pending:
        name = pending.pop()
        if name in seen or name not in recordings:
            continue
        seen.add(name)
        files.add(recordings[name].file)
        pending += metric_names_in_expr(recordings[name].expr)
    return sorted(files)


def outputs() -> dict[Path, str]:
    """Every generated promtool file and its text."""
    grouped: dict[tuple[tuple[str, ...], bool], list[Scenario]] = {}
    for scenario in scenarios():
        key = (tuple(rule_files_for(scenario.alert)), scenario.interval == "5m")
        grouped.setdefault(key, []).append(scenario)
    out = {}
    for (files, long), group in sorted(grouped.items()):
        stem = "_".join(f.removesuffix(".yaml") for f in files) + ("_long" if long else "")
        out[TESTS_DIR / f"{PREFIX}{stem}_test.yaml"] = render(group, files, long)
    return out


def render(group: list[Scenario], files: tuple[str, ...], long: bool) -> str:
    text = (
        "# GENERATED by `python -m tests.monitoring.replica_scenarios` — do not edit by hand.\n"
        "# Ten API replicas, some idle, for every alert that aggregates across replicas: each\n"
        "# alert gets a quiet fleet (three replicas serve, seven idle) that must not page and a\n"
        "# fleet where the real condition holds (the idle replicas still there) that must.\n"
        "rule_files:\n"
    )
    text += "".join(f"  - ../{name}\n" for name in files)
    text += f"evaluation_interval: {'5m' if long else '1m'}\ntests:\n"
    for s in group:
        text += f"  # {s.alert}, quiet: {s.why}\n"
        text += _group(s.interval, s.quiet, s.alert, s.eval_time, 0)
        for note, series in s.extra_quiet:
            text += f"  # {s.alert}, quiet: {note}\n"
            text += _group(s.interval, series, s.alert, s.eval_time, 0)
        text += f"  # {s.alert}, fires: the real condition holds, idle replicas still there\n"
        text += _group(s.interval, s.firing, s.alert, s.eval_time, s.fires)
    return text


def write() -> list[Path]:
    """Replace the generated files (stale ones removed)."""
    for stale in TESTS_DIR.glob(f"{PREFIX}*_test.yaml"):
        stale.unlink()
    written = []
    for path, text in outputs().items():
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")
