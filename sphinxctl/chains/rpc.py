"""JSON-RPC access to one chain: web3 8 HTTP providers with timeouts, bounded retries with
backoff, failover across the chain's RPC URLs, and errors that name the chain and the step.

This is the one module that talks to the network. Transport failures (connection refused or
dropped, timeouts, HTTP 5xx/429, truncated bodies) are retried; an error *answered by the node*
(a revert, "nonce too low") is raised as `RpcError` for the caller to interpret.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from sphinxctl.chains.registry import display_url
from sphinxctl.errors import ChainError
from sphinxctl.settings import ChainSettings

DEFAULT_ATTEMPTS = 4
MAX_BACKOFF_SECONDS = 2.0


class RpcError(ChainError):
    """The node answered a request with a JSON-RPC error.

    A `ChainError` (exit code 4, rendered like any other user-facing error when nothing above
    interprets it). `message` stays the node's own text, as callers quote it; `str()` and the
    hint name the method and the JSON-RPC code."""

    reference = "rpc-error"

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(
            message,
            hint=f"the node answered `{method}` with JSON-RPC error {code}; check the request "
            "against the chain's state (or the node's logs) and run it again",
            details={"method": method, "code": code},
        )
        self.args = (f"{method}: {message} (code {code})",)
        self.method = method
        self.code = code
        self.data = data

    def mentions(self, *phrases: str) -> bool:
        text = f"{self.message} {self.data or ''}".lower()
        return any(phrase in text for phrase in phrases)


def web3_for(url: str, timeout: float) -> Any:
    """A web3 8 `Web3` over HTTP with a request timeout and web3's own retries disabled."""
    from web3 import HTTPProvider, Web3

    provider = HTTPProvider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )
    return Web3(provider, middleware=[])


def _transient_errors() -> tuple[type[BaseException], ...]:
    import requests

    return (requests.RequestException, json.JSONDecodeError, UnicodeDecodeError, OSError)


class ChainClient:
    """Typed JSON-RPC calls against one configured chain (thread-safe; one per chain)."""

    def __init__(
        self,
        chain: ChainSettings,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.chain = chain
        self.attempts = max(1, attempts)
        self._sleep = sleep
        self._providers = [web3_for(url, chain.rpc_timeout_seconds) for url in chain.rpc_urls]
        self._preferred = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.chain.name

    @property
    def endpoint(self) -> str:
        """The endpoint in use, safe to print."""
        return display_url(self.chain.rpc_urls[self._preferred])

    def request(self, method: str, params: list[Any], *, step: str | None = None) -> Any:
        """Send one request; retry transport failures, fail over between URLs."""
        transient = _transient_errors()
        reasons: list[str] = []
        for attempt in range(self.attempts):
            index = (self._preferred + attempt) % len(self._providers)
            provider = self._providers[index].provider
            try:
                response = provider.make_request(method, params)
            except transient as exc:
                reasons.append(_describe_transport_error(exc))
                if attempt + 1 < self.attempts:
                    self._sleep(min(MAX_BACKOFF_SECONDS, 0.1 * 2**attempt))
                continue
            if not isinstance(response, dict):
                reasons.append("malformed response")
                continue
            with self._lock:
                self._preferred = index
            error = response.get("error")
            if error is not None:
                if isinstance(error, dict):
                    raise RpcError(
                        method,
                        int(error.get("code", 0)),
                        str(error.get("message", "")),
                        error.get("data"),
                    )
                raise RpcError(method, 0, str(error))
            if "result" not in response:
                reasons.append("response without result")
                continue
            return response["result"]
        urls = ", ".join(display_url(u) for u in self.chain.rpc_urls)
        raise ChainError(
            f"{self.chain.name}: {step or method} failed: the RPC endpoint ({urls}) did not "
            f"answer after {self.attempts} attempts ({reasons[-1] if reasons else 'no answer'})",
            hint="check the node is up and reachable (firewall, URL, API key), then rerun: "
            "completed steps are not repeated",
            reference="rpc-unreachable",
            details={"chain": self.chain.name, "method": method, "errors": reasons},
        )

    # --- typed helpers -------------------------------------------------------------------
    def chain_id(self) -> int:
        return int(self.request("eth_chainId", [], step="read the chain id"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber", [], step="read the head block"), 16)

    def block(self, number: int | str, *, full: bool = False) -> dict[str, Any] | None:
        tag = hex(number) if isinstance(number, int) else number
        result = self.request("eth_getBlockByNumber", [tag, full], step="read a block")
        return result if isinstance(result, dict) else None

    def genesis_hash(self) -> str:
        block = self.block(0)
        if block is None:
            raise ChainError(f"{self.chain.name}: the node has no genesis block")
        return str(block["hash"])

    def balance(self, address: str, block: int | str = "latest") -> int:
        return int(
            self.request("eth_getBalance", [address, _tag(block)], step="read a balance"), 16
        )

    def nonce(self, address: str, block: int | str = "pending") -> int:
        return int(
            self.request("eth_getTransactionCount", [address, _tag(block)], step="read the nonce"),
            16,
        )

    def code(self, address: str, block: int | str = "latest") -> str:
        return str(self.request("eth_getCode", [address, _tag(block)], step="read contract code"))

    def fee_history(self, blocks: int, percentiles: list[float]) -> dict[str, Any]:
        result = self.request(
            "eth_feeHistory", [hex(blocks), "latest", percentiles], step="read fee history"
        )
        return dict(result)

    def estimate_gas(self, tx: dict[str, Any], overrides: dict[str, Any] | None = None) -> int:
        params: list[Any] = [tx, "latest"]
        if overrides:
            params.append(overrides)
        return int(self.request("eth_estimateGas", params, step="estimate gas"), 16)

    def call(self, tx: dict[str, Any], block: int | str = "latest") -> str:
        return str(self.request("eth_call", [tx, _tag(block)], step="call a contract"))

    def send_raw(self, raw: str) -> str:
        return str(self.request("eth_sendRawTransaction", [raw], step="broadcast a transaction"))

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = self.request(
            "eth_getTransactionReceipt", [tx_hash], step="read a transaction receipt"
        )
        return result if isinstance(result, dict) else None

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        result = self.request("eth_getTransactionByHash", [tx_hash], step="read a transaction")
        return result if isinstance(result, dict) else None

    def logs(self, flt: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.request("eth_getLogs", [flt], step="read event logs"))


def _tag(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


def _describe_transport_error(exc: BaseException) -> str:
    import requests

    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or dropped"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return "malformed response body"
    return type(exc).__name__
