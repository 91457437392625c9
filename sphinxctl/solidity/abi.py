"""The one ABI codec: encoding of calls and constructors, decoding of outputs and reverts,
selectors and event topics, role ids and CREATE addresses (eth-abi / eth-utils).

Calls by signature (`encode_call("grantRole(bytes32,address)", ...)`, deploy plans and checks)
and calls by contract and function name from the compiled ABIs (`AbiCodec`, the platform's
gateway) share the same primitives: `abi_type`, `signature_of`, `selector_hex`, `decode_result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

ROLE_NAMES_LIST = (
    "DEFAULT_ADMIN_ROLE",
    "ADMIN_ROLE",
    "OPERATOR_ROLE",
    "MINTER_ROLE",
    "REFERRER_ROLE",
    "GUARDIAN_ROLE",
)
ZERO32 = "0x" + "00" * 32


# What malformed ABI payload raises: eth_abi's DecodingError (short or badly padded data), and
# ValueError for bad hex, invalid UTF-8 in a string or an address that does not checksum.
DECODE_ERRORS: tuple[type[Exception], ...] = (DecodingError, ValueError)


def keccak_hex(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def abi_type(param: dict[str, Any]) -> str:
    """The canonical type of one ABI parameter (tuples expanded)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def signature_of(entry: dict[str, Any]) -> str:
    """`name(type,...)` of an ABI function, event or error entry."""
    return f"{entry['name']}({','.join(abi_type(p) for p in entry.get('inputs', []))})"


def selector(signature: str) -> bytes:
    """The 4-byte selector of a function or error signature."""
    return keccak(signature.encode())[:4]


def selector_hex(signature: str) -> str:
    return "0x" + selector(signature).hex()


def event_topic(signature: str) -> str:
    """topic0 of an event, e.g. 'Minted(uint256,address,uint16,uint8,uint256,address)'."""
    return keccak_hex(signature.encode())


def role_id(name: str) -> str:
    """OpenZeppelin role id: DEFAULT_ADMIN_ROLE is 0x00, others keccak256 of their name."""
    return ZERO32 if name == "DEFAULT_ADMIN_ROLE" else keccak_hex(name.encode())


ROLE_NAMES: dict[str, str] = {role_id(name): name for name in ROLE_NAMES_LIST}


def role_name(role: str) -> str:
    return ROLE_NAMES.get(role.lower(), role)


def checksum(address: str) -> str:
    return str(to_checksum_address(address))


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to."""
    import rlp  # deploy and reconcile only

    encoded = rlp.encode([bytes.fromhex(sender[2:]), nonce])
    return checksum("0x" + keccak(encoded)[12:].hex())


def signature_types(signature: str) -> list[str]:
    """`grantRole(bytes32,address)` -> ["bytes32", "address"] (no tuple parameters)."""
    inner = signature[signature.index("(") + 1 : signature.rindex(")")]
    return [part.strip() for part in inner.split(",") if part.strip()]


def _convert(abi_type: str, value: Any) -> Any:
    if abi_type.endswith("[]"):
        return [_convert(abi_type[:-2], item) for item in value]
    if abi_type == "address":
        return checksum(str(value))
    if abi_type.startswith("bytes"):
        if isinstance(value, bytes):
            return value
        text = str(value)
        return bytes.fromhex(text[2:] if text.startswith("0x") else text)
    if abi_type.startswith(("uint", "int")):
        return int(value)
    if abi_type == "bool":
        return bool(value)
    return value


def encode_args(types: list[str], values: list[Any]) -> bytes:
    return encode(types, [_convert(t, v) for t, v in zip(types, values, strict=True)])


def encode_call(signature: str, values: list[Any]) -> str:
    data = selector(signature) + encode_args(signature_types(signature), values)
    return "0x" + data.hex()


def constructor_types(abi: list[dict[str, Any]]) -> list[str]:
    for item in abi:
        if item.get("type") == "constructor":
            return [abi_type(entry) for entry in item.get("inputs", [])]
    return []


def encode_deploy(bytecode: str, abi: list[dict[str, Any]], values: list[Any]) -> str:
    return bytecode + encode_args(constructor_types(abi), values).hex()


def decode_result(types: Sequence[str], data: str) -> tuple[Any, ...]:
    return tuple(decode(types, bytes.fromhex(data[2:] if data.startswith("0x") else data)))


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: list[str]
    outputs: list[str]


class AbiCodec:
    """Functions by (contract, name, arity) and custom errors by selector, from compiled ABIs;
    each call is a selector plus eth_abi encoding, all a JSON-RPC `eth_call` needs."""

    def __init__(self, abis: dict[str, list[dict[str, Any]]]) -> None:
        self._functions: dict[tuple[str, str, int], _Function] = {}
        self._errors: dict[str, tuple[str, list[str]]] = {}
        for contract, abi in abis.items():
            for entry in abi:
                kind = entry.get("type")
                if kind not in ("function", "error"):
                    continue
                inputs = [abi_type(p) for p in entry.get("inputs", [])]
                found = selector(signature_of(entry))
                if kind == "error":
                    self._errors[found.hex()] = (entry["name"], inputs)
                else:
                    outputs = [abi_type(p) for p in entry.get("outputs", [])]
                    key = (contract, entry["name"], len(inputs))
                    self._functions[key] = _Function(found, inputs, outputs)

    def _function(self, contract: str, name: str, arity: int) -> _Function:
        try:
            return self._functions[(contract, name, arity)]
        except KeyError:
            raise KeyError(f"{contract} has no function {name} taking {arity} arguments") from None

    def encode_call(self, contract: str, name: str, args: Sequence[Any]) -> str:
        function = self._function(contract, name, len(args))
        return "0x" + (function.selector + encode(function.inputs, list(args))).hex()

    def decode_output(self, contract: str, name: str, arity: int, raw: str) -> tuple[Any, ...]:
        return decode_result(self._function(contract, name, arity).outputs, raw)

    def error(self, data: str | None) -> tuple[str, list[str]] | None:
        """(name, argument types) of the custom error revert data starts with, if known."""
        if not data or len(data) < 10:
            return None
        return self._errors.get(data[2:10].lower())

    def decode_error(self, data: str | None) -> tuple[str | None, list[str]]:
        """(error name, its arguments as strings) of revert data; (None, []) if unknown."""
        entry = self.error(data)
        if entry is None or data is None:
            return None, []
        name, types = entry
        try:
            values = decode_result(types, data[10:])
        except DECODE_ERRORS:  # truncated or malformed arguments: name only
            return name, []
        return name, ["0x" + v.hex() if isinstance(v, bytes) else str(v) for v in values]


def describe_revert(data: Any, abis: list[list[dict[str, Any]]]) -> str | None:
    """Human text of revert data: Error(string), Panic(uint256) or a custom error of the ABIs."""
    if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10:
        return None
    head, body = data[:10].lower(), data[10:]
    try:
        if head == selector_hex("Error(string)"):
            return str(decode_result(["string"], body)[0])
        if head == selector_hex("Panic(uint256)"):
            return f"panic 0x{decode_result(['uint256'], body)[0]:02x}"
        entry = AbiCodec({str(n): abi for n, abi in enumerate(abis)}).error(head)
        if entry is not None:
            name, types = entry
            values = decode_result(types, body)
            shown = [
                role_name("0x" + v.hex())
                if isinstance(v, bytes)
                else checksum(v)
                if t == "address"
                else str(v)
                for t, v in zip(types, values, strict=True)
            ]
            return f"{name}({', '.join(shown)})"
    except DECODE_ERRORS:
        return None
    return f"custom error {head}"
