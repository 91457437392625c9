"""ABI encoding, role ids, CREATE addresses and revert decoding (eth-abi / eth-utils)."""

from __future__ import annotations

from typing import Any

import rlp
from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

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
    data = function_signature_to_4byte_selector(signature) + encode_args(
        signature_types(signature), values
    )
    return "0x" + data.hex()


def constructor_types(abi: list[dict[str, Any]]) -> list[str]:
    for item in abi:
        if item.get("type") == "constructor":
            return [str(entry["type"]) for entry in item.get("inputs", [])]
    return []


def encode_deploy(bytecode: str, abi: list[dict[str, Any]], values: list[Any]) -> str:
    return bytecode + encode_args(constructor_types(abi), values).hex()


def decode_result(types: list[str], data: str) -> tuple[Any, ...]:
    return tuple(decode(types, bytes.fromhex(data[2:] if data.startswith("0x") else data)))


def selector_hex(signature: str) -> str:
    return "0x" + function_signature_to_4byte_selector(signature).hex()


def _error_signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(str(i['type']) for i in item.get('inputs', []))})"


def describe_revert(data: Any, abis: list[list[dict[str, Any]]]) -> str | None:
    """Human text of revert data: Error(string), Panic(uint256) or a custom error of the ABIs."""
    if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10:
        return None
    selector, body = data[:10].lower(), data[10:]
    try:
        if selector == selector_hex("Error(string)"):
            return str(decode_result(["string"], body)[0])
        if selector == selector_hex("Panic(uint256)"):
            return f"panic 0x{decode_result(['uint256'], body)[0]:02x}"
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                signature = _error_signature(item)
                if selector_hex(signature) == selector:
                    types = signature_types(signature)
                    values = decode_result(types, body)
                    shown = [
                        role_name("0x" + v.hex())
                        if isinstance(v, bytes)
                        else checksum(v)
                        if t == "address"
                        else str(v)
                        for t, v in zip(types, values, strict=True)
                    ]
                    return f"{item['name']}({', '.join(shown)})"
    except DECODE_ERRORS:
        return None
    return f"custom error {selector}"
