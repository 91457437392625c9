"""ABI encoding of contract calls and decoding of outputs, events and custom errors.

Built once from the compiled artifacts' ABIs; each call is a selector plus eth_abi encoding,
which is all a JSON-RPC `eth_call` / `eth_estimateGas` needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: list[str]
    outputs: list[str]


def abi_type(param: dict[str, Any]) -> str:
    """The canonical type of one ABI parameter (tuples expanded)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def event_topic(signature: str) -> str:
    """topic0 of an event, e.g. 'Minted(uint256,address,uint16,uint8,uint256,address)'."""
    return "0x" + keccak(signature.encode()).hex()


class AbiCodec:
    """Functions by (contract, name, arity) and custom errors by selector, from ABIs."""

    def __init__(self, abis: dict[str, list[dict[str, Any]]]) -> None:
        self._functions: dict[tuple[str, str, int], _Function] = {}
        self._errors: dict[str, tuple[str, list[str]]] = {}
        for contract, abi in abis.items():
            for entry in abi:
                kind = entry.get("type")
                if kind not in ("function", "error"):
                    continue
                inputs = [abi_type(p) for p in entry.get("inputs", [])]
                signature = f"{entry['name']}({','.join(inputs)})"
                selector = keccak(signature.encode())[:4]
                if kind == "error":
                    self._errors[selector.hex()] = (entry["name"], inputs)
                else:
                    outputs = [abi_type(p) for p in entry.get("outputs", [])]
                    key = (contract, entry["name"], len(inputs))
                    self._functions[key] = _Function(selector, inputs, outputs)

    def _function(self, contract: str, name: str, arity: int) -> _Function:
        try:
            return self._functions[(contract, name, arity)]
        except KeyError:
            raise KeyError(f"{contract} has no function {name} taking {arity} arguments") from None

    def encode_call(self, contract: str, name: str, args: Sequence[Any]) -> str:
        function = self._function(contract, name, len(args))
        return "0x" + (function.selector + encode(function.inputs, list(args))).hex()

    def decode_output(self, contract: str, name: str, arity: int, raw: str) -> tuple[Any, ...]:
        function = self._function(contract, name, arity)
        data = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
        return tuple(decode(function.outputs, data))

    def decode_error(self, data: str | None) -> tuple[str | None, list[str]]:
        """(error name, its arguments as strings) of revert data; (None, []) if unknown."""
        if not data or len(data) < 10:
            return None, []
        entry = self._errors.get(data[2:10].lower())
        if entry is None:
            return None, []
        name, types = entry
        try:
            values = decode(types, bytes.fromhex(data[10:]))
        except (DecodingError, ValueError):  # truncated or malformed arguments: name only
            return name, []
        return name, ["0x" + v.hex() if isinstance(v, bytes) else str(v) for v in values]
