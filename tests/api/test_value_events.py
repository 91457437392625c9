"""sphinxos_transaction_value from real value moved on the devnet: a vault deposit and a
withdrawal sent straight to the contract (not through the API) show up in the live API's
histogram with their amounts, read from the events the ABI declares."""

from __future__ import annotations

import time

import httpx
import pytest

from sphinxctl.platform.value_events import value_events
from sphinxctl.solidity.abi import AbiCodec
from sphinxctl.solidity.artifacts import load_artifacts
from tests.support.api_env import DevnetProject, LiveServer

pytestmark = pytest.mark.integration

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0, unlocked
CHAIN = "ethereum"


def _metric(api: str, name: str, kind: str) -> float:
    prefix = f'{name}{{chain="{CHAIN}",kind="{kind}"}} '
    for line in httpx.get(f"{api}/metrics", timeout=10).text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _send(devnet: DevnetProject, to: str, data: str) -> None:
    tx = devnet.rpc(CHAIN, "eth_sendTransaction", {"from": DEPLOYER, "to": to, "data": data})
    receipt = None
    for _ in range(100):
        receipt = devnet.rpc(CHAIN, "eth_getTransactionReceipt", tx)
        if receipt is not None:
            break
        time.sleep(0.1)
    assert receipt is not None and receipt["status"] == "0x1", receipt


def test_the_vault_abi_declares_its_value_events(devnet: DevnetProject) -> None:
    abi = load_artifacts(devnet.root)["SphinxYieldAggregator"].abi
    kinds = sorted(e.kind for e in value_events("SphinxYieldAggregator", abi))
    assert kinds == ["deposit", "withdrawal"]
    assert value_events("SphinxYieldAggregator", []) == []


def test_deposits_and_withdrawals_feed_the_transaction_value_histogram(
    devnet: DevnetProject, live_api: LiveServer
) -> None:
    from sphinxctl.deploy.records import load_record

    artifacts = load_artifacts(devnet.root)
    codec = AbiCodec({n: artifacts[n].abi for n in ("DevnetSPX", "SphinxYieldAggregator")})
    record = load_record(devnet.root, "local")
    assert record is not None
    vault = record.address_of(CHAIN, "SphinxYieldAggregator")
    token = record.address_of(CHAIN, "DevnetSPX")
    assert vault and token
    amount = 250 * 10**18
    before = {
        kind: (
            _metric(live_api.url, "sphinxos_transaction_value_count", kind),
            _metric(live_api.url, "sphinxos_transaction_value_sum", kind),
        )
        for kind in ("deposit", "withdrawal")
    }
    with devnet.snapshot():
        # Earlier tests revert the chain below blocks the poller saw: let it catch up first.
        poller = live_api.server.config.app.state.services.poller  # type: ignore[union-attr]
        rounds = poller.rounds
        while poller.rounds < rounds + 2:
            time.sleep(0.1)
        _send(devnet, token, codec.encode_call("DevnetSPX", "approve", [vault, amount]))
        _send(
            devnet, vault, codec.encode_call("SphinxYieldAggregator", "deposit", [amount, DEPLOYER])
        )
        devnet.rpc(CHAIN, "evm_increaseTime", 30 * 86400)  # past the vault's action cooldown
        devnet.rpc(CHAIN, "evm_mine")
        _send(
            devnet,
            vault,
            codec.encode_call(
                "SphinxYieldAggregator", "withdraw", [amount // 5, DEPLOYER, DEPLOYER]
            ),
        )

        def seen() -> bool:
            deposits = _metric(live_api.url, "sphinxos_transaction_value_count", "deposit")
            withdrawals = _metric(live_api.url, "sphinxos_transaction_value_count", "withdrawal")
            return deposits > before["deposit"][0] and withdrawals > before["withdrawal"][0]

        deadline = time.monotonic() + 30
        while not seen() and time.monotonic() < deadline:
            time.sleep(0.3)
    assert seen(), "the poller did not observe the deposit and the withdrawal"
    deposited = _metric(live_api.url, "sphinxos_transaction_value_sum", "deposit")
    withdrawn = _metric(live_api.url, "sphinxos_transaction_value_sum", "withdrawal")
    assert deposited - before["deposit"][1] == pytest.approx(250.0)
    assert withdrawn - before["withdrawal"][1] == pytest.approx(50.0)
