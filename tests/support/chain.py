"""Test-side plumbing for contract tests: a web3 connection, deployments, revert decoding
(the node itself is tests/support/anvil.py's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from sphinxctl.solidity.artifacts import Artifact

ROOT = Path(__file__).resolve().parents[2]
ZERO = "0x" + "00" * 20
TX_FIELDS = {"gas": 5_000_000, "maxFeePerGas": 200 * 10**9, "maxPriorityFeePerGas": 1}
ROLE_IDS = {
    "DEFAULT_ADMIN_ROLE": b"\x00" * 32,
    "ADMIN_ROLE": keccak(text="ADMIN_ROLE"),
    "OPERATOR_ROLE": keccak(text="OPERATOR_ROLE"),
    "MINTER_ROLE": keccak(text="MINTER_ROLE"),
    "REFERRER_ROLE": keccak(text="REFERRER_ROLE"),
    "GUARDIAN_ROLE": keccak(text="GUARDIAN_ROLE"),
}


def error_table(artifacts: dict[str, Artifact]) -> dict[bytes, tuple[str, list[str]]]:
    """4-byte selector -> (error name, argument types), over every artifact's ABI."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for artifact in artifacts.values():
        for item in artifact.abi:
            if item["type"] == "error":
                types = [i["type"] for i in item["inputs"]]
                table[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    table[keccak(text="Error(string)")[:4]] = ("Error", ["string"])
    table[keccak(text="Panic(uint256)")[:4]] = ("Panic", ["uint256"])
    return table


@dataclass
class Revert:
    """A decoded revert: the custom error's name and its arguments."""

    name: str
    args: tuple[Any, ...]


@dataclass
class Chain:
    """A web3 connection plus what tests need to deploy, transact and decode reverts."""

    w3: Web3
    artifacts: dict[str, Artifact]
    errors: dict[bytes, tuple[str, list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.errors = error_table(self.artifacts)
        # Tests talk to a known local node: web3's per-call chain-id validation and ENS
        # resolution only cost round trips (they make a contract call ~5x slower).
        for name in ("validation", "ens_name_to_address"):
            self.w3.middleware_onion.remove(name)

    @property
    def accounts(self) -> list[str]:
        return list(self.w3.eth.accounts)

    def deploy(self, name: str, *args: Any, sender: str) -> Contract:
        artifact = self.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx_hash = factory.constructor(*args).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"deploying {name} failed"
        assert receipt["contractAddress"] is not None
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def at(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(
            address=to_checksum_address(address), abi=self.artifacts[name].abi
        )

    def tx(self, call: Any, sender: str) -> TxReceipt:
        """Send a contract call from an unlocked anvil account; it must succeed.

        Gas and fees are given, so web3 skips its estimate and fee look-ups (three round trips);
        a failure is then diagnosed by replaying the call on the parent block.
        """
        tx_hash = call.transact({"from": sender, **TX_FIELDS})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            try:
                call.call({"from": sender}, block_identifier=receipt["blockNumber"] - 1)
                reason = "<no revert on replay>"
            except ContractLogicError as exc:
                reason = str(self.decode_revert(exc.data))
            raise AssertionError(f"transaction reverted: {reason}")
        return receipt

    def decode_revert(self, data: Any) -> Revert:
        if isinstance(data, dict):
            data = data.get("data", "")
        raw = bytes.fromhex(str(data or "")[2:]) if str(data or "").startswith("0x") else b""
        if len(raw) < 4:
            return Revert("<empty>", ())
        name, types = self.errors.get(raw[:4], (f"<unknown {raw[:4].hex()}>", []))
        return Revert(name, tuple(decode(types, raw[4:])) if types else ())

    def reverts(self, call: Any, sender: str) -> Revert:
        """Send a contract call that must revert; returns the decoded custom error."""
        try:
            call.transact({"from": sender})
        except ContractLogicError as exc:
            return self.decode_revert(exc.data)
        raise AssertionError("the call did not revert")

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response.get("result")

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert_to(self, snapshot_id: str) -> None:
        assert self.rpc("evm_revert", snapshot_id) is True

    def increase_time(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def events(self, contract: Contract, event: str, receipt: TxReceipt) -> list[dict[str, Any]]:
        from web3.logs import DISCARD

        logs = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return [dict(log["args"]) for log in logs]


MAX_UINT = 2**256 - 1
UNIT = 10**18
ADMIN_DELAY = 3600


@dataclass
class System:
    """The deployed platform contracts, test doubles and the accounts that hold each role."""

    chain: Chain
    token: Contract
    vault: Contract
    nft: Contract
    s1: Contract
    s2: Contract
    admin: str
    operator: str
    minter: str
    treasury: str
    users: list[str]
    outsider: str


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def interface_id(*signatures: str) -> bytes:
    """ERC-165 id: XOR of the function selectors."""
    value = 0
    for sig in signatures:
        value ^= int.from_bytes(selector(sig), "big")
    return value.to_bytes(4, "big")


Action = Callable[[], Any]
