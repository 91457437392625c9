"""Chains and RPC: every endpoint answers, on the right chain, with a healthy head.

The probe of each chain (all its RPC URLs at once, each bounded by the run's I/O budget even
when DNS hangs) is shared by every check of the run; `chain_client` hands the other areas a
client over the endpoints that passed, or Blocked naming the item that did not.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import Blocked, Outcome, check, problems_outcome

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient
    from sphinxctl.settings import ChainSettings

MAX_HEAD_AGE_SECONDS = 180.0
MAX_HEAD_AHEAD_SECONDS = 60.0


class EndpointProbe(BaseModel):
    """What one RPC URL answered (its URL shown without path or query: keys live there)."""

    chain: str
    url: str
    index: int
    reachable: bool = False
    error: str | None = None
    chain_id: int | None = None
    head_number: int | None = None
    head_timestamp: int | None = None
    syncing: bool | None = None


def _client(chain: ChainSettings, urls: list[str], timeout: float, attempts: int) -> ChainClient:
    from sphinxctl.chains.rpc import ChainClient

    bounded = chain.model_copy(update={"rpc_urls": urls, "rpc_timeout_seconds": timeout})
    return ChainClient(bounded, attempts=attempts)


def _probe_url(chain: ChainSettings, index: int, timeout: float) -> EndpointProbe:
    from sphinxctl.chains.registry import display_url
    from sphinxctl.chains.rpc import RpcError
    from sphinxctl.errors import ChainError

    url = chain.rpc_urls[index]
    found = EndpointProbe(chain=chain.name, url=display_url(url), index=index)
    client = _client(chain, [url], timeout, attempts=1)
    try:
        found.chain_id = client.chain_id()
        found.reachable = True
        head = client.block("latest") or {}
        found.head_number = int(head.get("number", "0x0"), 16)
        found.head_timestamp = int(head.get("timestamp", "0x0"), 16)
        found.syncing = bool(client.request("eth_syncing", []))
    except (RpcError, ValueError, TypeError) as exc:  # RpcError first: it is a ChainError too
        found.error = f"bad answer: {exc}"
    except ChainError as exc:
        errors = exc.details.get("errors") or [exc.message]
        found.error = str(errors[-1])
    return found


def probe_chain(ctx: CheckContext, name: str) -> list[EndpointProbe]:
    """Every RPC URL of chain `name`, probed concurrently within the run's I/O budget."""

    def probe() -> list[EndpointProbe]:
        chain = ctx.settings.chains[name]
        timeout = ctx.timeout_for(chain.rpc_timeout_seconds)
        results: dict[int, EndpointProbe] = {}

        def one(index: int) -> None:
            results[index] = _probe_url(chain, index, timeout)

        threads = [
            threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(chain.rpc_urls))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:  # joins share one deadline: a hung DNS lookup cannot hold us
            thread.join(timeout=timeout + 0.5)
        from sphinxctl.chains.registry import display_url

        return [
            results.get(i)
            or EndpointProbe(chain=name, url=display_url(url), index=i, error="no answer in time")
            for i, url in enumerate(chain.rpc_urls)
        ]

    return ctx.memo(f"probe:{name}", probe)


def head_problem(ctx: CheckContext, chain: ChainSettings, probe: EndpointProbe) -> str | None:
    """Why an endpoint's head is unhealthy (None when it is fine)."""
    if probe.syncing:
        return "the node is still syncing"
    if not probe.head_timestamp:
        return "the node returned no head block"
    age = ctx.clock() - probe.head_timestamp
    if age < -MAX_HEAD_AHEAD_SECONDS:
        return f"the head block is {-age:.0f} s in the future (node clock or chain is wrong)"
    limit = max_head_age(ctx, chain)
    if limit is not None and age > limit:
        return f"the head block #{probe.head_number} is {age:.0f} s old (limit {limit:.0f} s)"
    return None


def max_head_age(ctx: CheckContext, chain: ChainSettings) -> float | None:
    """How old a head may be: none on an automining devnet (it mines on demand)."""
    if ctx.is_local and chain.devnet_port is not None:
        block_time = ctx.settings.devnet.block_time
        return None if not block_time else max(30.0, 10 * block_time)
    return MAX_HEAD_AGE_SECONDS


def chain_client(ctx: CheckContext, name: str) -> ChainClient:
    """A client over chain `name`'s healthy endpoints; Blocked by RPC-001/002/003 otherwise."""

    def build() -> ChainClient:
        chain = ctx.settings.chains[name]
        probes = probe_chain(ctx, name)
        reachable = [p for p in probes if p.reachable]
        if not reachable:
            raise Blocked("RPC-001", f"{name}: no RPC endpoint answers ({probes[0].error})")
        right = [p for p in reachable if p.chain_id == chain.chain_id]
        if not right:
            raise Blocked(
                "RPC-002", f"{name}: the RPC is chain {reachable[0].chain_id}, not {chain.chain_id}"
            )
        healthy = [p for p in right if head_problem(ctx, chain, p) is None]
        if not healthy:
            raise Blocked("RPC-003", f"{name}: {head_problem(ctx, chain, right[0])}")
        urls = [chain.rpc_urls[p.index] for p in healthy]
        return _client(chain, urls, ctx.timeout_for(chain.rpc_timeout_seconds), attempts=2)

    return ctx.memo(f"client:{name}", build)


def _all_probes(ctx: CheckContext) -> list[EndpointProbe]:
    return [p for name in ctx.settings.chains for p in probe_chain(ctx, name)]


@check("RPC-001", "rpc-reachable")
def rpc_reachable(ctx: CheckContext) -> Outcome:
    """Every configured RPC URL of every chain answers JSON-RPC."""
    probes = _all_probes(ctx)
    problems = [f"{p.chain} {p.url}: {p.error}" for p in probes if not p.reachable]
    return problems_outcome(
        problems,
        f"{len(probes)} endpoint(s) answer",
        "check the URL, API key, firewall and provider status; each chain needs every URL up",
    )


@check("RPC-002", "rpc-chain-id")
def rpc_chain_id(ctx: CheckContext) -> Outcome:
    """Every RPC endpoint reports the configured chain id."""
    chains = ctx.settings.chains
    probes = _all_probes(ctx)
    for name in chains:
        if not any(p.reachable for p in probes if p.chain == name):
            raise Blocked("RPC-001", f"{name}: no RPC endpoint answers")
    problems = [
        f"{p.chain} {p.url}: chain id {p.chain_id}, expected {chains[p.chain].chain_id}"
        for p in probes
        if p.reachable and p.chain_id != chains[p.chain].chain_id
    ]
    return problems_outcome(
        problems,
        ", ".join(f"{n} = {c.chain_id}" for n, c in chains.items()),
        "point the chain's rpc_urls at the right network (a testnet URL on mainnet?)",
    )


@check("RPC-003", "rpc-head-healthy")
def rpc_head_healthy(ctx: CheckContext) -> Outcome:
    """Every chain's head is healthy: not syncing, recent, not in the future."""
    chains = ctx.settings.chains
    probes = _all_probes(ctx)
    problems: list[str] = []
    heads: list[str] = []
    for name, chain in chains.items():
        right = [p for p in probes if p.chain == name and p.chain_id == chain.chain_id]
        if not right:
            reachable = any(p.reachable for p in probes if p.chain == name)
            blocker = "RPC-002" if reachable else "RPC-001"
            raise Blocked(blocker, f"{name}: no endpoint on chain {chain.chain_id} answers")
        for p in right:
            problem = head_problem(ctx, chain, p)
            if problem:
                problems.append(f"{name} {p.url}: {problem}")
            else:
                heads.append(f"{name} #{p.head_number}")
    return problems_outcome(
        problems,
        "heads " + ", ".join(heads),
        "switch to a synced, healthy provider (or wait for the node to catch up)",
    )


def read_call(ctx: CheckContext, chain: str, to: str, data: str) -> Any:
    """eth_call on a healthy endpoint of `chain` (hex result)."""
    return chain_client(ctx, chain).call({"to": to, "data": data})
