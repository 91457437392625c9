"""Background poller of the configured RPCs: keeps the chain gauges current.

Every `interval` seconds, for each chain (concurrently, in threads): reachability and chain
id (sphinxos_blockchain_connected, sphinxos_node_health), base fee (sphinxos_gas_price_gwei),
and the deployed contracts' state (sphinxos_contract_paused, sphinxos_vault_emergency_shutdown,
sphinxos_vault_total_assets, sphinxos_yield_harvested_total from the vault's Harvested
events), and the value moved by mints and vault deposits/withdrawals seen in events
(sphinxos_transaction_value). A failing chain sets its gauges to 0 and never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sphinxctl import metrics
from sphinxctl.platform.gateway import ChainGateway
from sphinxctl.platform.harvests import HarvestScanner
from sphinxctl.platform.models import ChainProbe
from sphinxctl.platform.value_events import VALUE_EVENTS, ValueScanner, value_events
from sphinxctl.solidity.names import PAUSABLE, VAULT

_log = logging.getLogger("sphinxctl.api.poller")  # the name the API's log lines have always had


class ChainPoller:
    """Runs `poll_once` every `interval` seconds until stopped."""

    def __init__(
        self,
        gateway: ChainGateway,
        interval: float,
        *,
        extra: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.gateway = gateway
        self.interval = interval
        self.extra = extra
        self.latest: dict[str, ChainProbe] = {}
        self.rounds = 0
        self.harvests = HarvestScanner()
        self.values = ValueScanner()
        self._task: asyncio.Task[None] | None = None

    async def poll_once(self) -> dict[str, ChainProbe]:
        chains = list(self.gateway.settings.chains)
        probes = await asyncio.gather(*(asyncio.to_thread(self._poll_chain, c) for c in chains))
        self.latest = {probe.chain: probe for probe in probes}
        if self.extra is not None:
            try:
                await self.extra()
            except Exception as exc:  # noqa: BLE001 — one failing extra step must not end the poller
                _log.warning("poller extra step failed: %s", type(exc).__name__)
        self.rounds += 1
        return self.latest

    def _poll_chain(self, chain: str) -> ChainProbe:
        probe = self.gateway.probe(chain)
        metrics.BLOCKCHAIN_CONNECTED.labels(chain=chain).set(1 if probe.reachable else 0)
        metrics.NODE_HEALTH.labels(chain=chain).set(1 if probe.healthy else 0)
        if not probe.reachable:
            metrics.ERRORS.labels(component="chain", kind="rpc_unreachable").inc()
            return probe
        if probe.base_fee_gwei is not None:
            metrics.GAS_PRICE_GWEI.labels(chain=chain).set(probe.base_fee_gwei)
        if not probe.healthy:
            return probe
        deployed = self.gateway.deployed(chain)
        for name in PAUSABLE:
            if name not in deployed:
                continue
            try:
                paused = self.gateway.paused(chain, name)
                metrics.CONTRACT_PAUSED.labels(chain=chain, contract=name).set(1 if paused else 0)
            except Exception:  # noqa: BLE001 — counted as a read error; the poller keeps going
                metrics.ERRORS.labels(component="chain", kind="contract_read").inc()
        vault_scale = 10**18
        if VAULT in deployed:
            try:
                vault = self.gateway.vault(chain)
                metrics.VAULT_SHUTDOWN.labels(chain=chain).set(1 if vault.emergency_shutdown else 0)
                scale = vault_scale = 10**vault.asset_decimals
                metrics.VAULT_TVL.labels(chain=chain).set(vault.total_assets_wei / scale)
                if probe.latest_block is not None:
                    client = self.gateway.client(chain)
                    profit = self.harvests.scan(chain, client, vault.address, probe.latest_block)
                    metrics.YIELD_HARVESTED.labels(chain=chain).inc(profit / scale)
            except Exception:  # noqa: BLE001 — counted as a read error; the poller keeps going
                metrics.ERRORS.labels(component="chain", kind="contract_read").inc()
        if probe.latest_block is not None:
            self._observe_values(chain, deployed, probe.latest_block, vault_scale)
        return probe

    def _observe_values(
        self, chain: str, deployed: dict[str, str], head: int, vault_scale: int
    ) -> None:
        """Mint fees (18 decimals) and vault amounts (the asset's decimals), in whole tokens."""
        try:
            abis = self.gateway.abis()
            watched = [
                (deployed[name], value_events(name, abis.get(name, [])))
                for name in VALUE_EVENTS
                if name in deployed
            ]
            vault_address = deployed.get(VAULT)
            client = self.gateway.client(chain)
            for address, kind, amount in self.values.scan(chain, client, watched, head):
                scale = vault_scale if address == vault_address else 10**18
                metrics.TRANSACTION_VALUE.labels(chain=chain, kind=kind).observe(amount / scale)
        except Exception:  # noqa: BLE001 — counted as a read error; the poller keeps going
            metrics.ERRORS.labels(component="chain", kind="value_events").inc()

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — never let one bad round end the poller
                _log.warning("chain poll failed: %s", type(exc).__name__)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="chain-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
