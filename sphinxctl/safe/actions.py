"""The admin actions a Safe can propose: which contract function each one calls, its arguments
checked against the contract's ABI, and what it does in words.

    call = build_call("grant-role", ["vault", "OPERATOR_ROLE", "0xabc..."], abis)
    call.contract, call.function, call.data, call.description

Encoding and decoding go through the ABI only (no free-form calldata), so a proposal always
says which function of which contract it calls and with what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sphinxctl.errors import UsageError
from sphinxctl.solidity.names import NFT, VAULT

SAFE = "Safe"
CONTRACT_ALIASES = {"nft": NFT, "vault": VAULT, "safe": SAFE}
CONTRACT_ALIASES.update({NFT.lower(): NFT, VAULT.lower(): VAULT})


@dataclass(frozen=True)
class ActionSpec:
    """`contract` None: the first argument names it. `function` None: a raw `call`."""

    contract: str | None
    function: str | None
    params: tuple[str, ...]
    words: str


ACTIONS: dict[str, ActionSpec] = {
    "pause": ActionSpec(None, "pause", (), "pause {contract}: mints/transfers or deposits stop"),
    "unpause": ActionSpec(None, "unpause", (), "unpause {contract}: normal operation resumes"),
    "emergency-shutdown": ActionSpec(
        VAULT,
        "activateEmergencyShutdown",
        (),
        "activate the vault's emergency shutdown (irreversible): funds return from the "
        "strategies and every depositor can exit",
    ),
    "set-rarity-root": ActionSpec(
        NFT, "setRarityRoot", ("root",), "publish the rarity Merkle root {root}"
    ),
    "grant-role": ActionSpec(
        None, "grantRole", ("role", "account"), "grant {role} on {contract} to {account}"
    ),
    "revoke-role": ActionSpec(
        None, "revokeRole", ("role", "account"), "revoke {role} on {contract} from {account}"
    ),
    "set-treasury": ActionSpec(
        None, "setTreasury", ("treasury",), "set the treasury of {contract} to {treasury}"
    ),
    "add-strategy": ActionSpec(
        VAULT, "addStrategy", ("strategy",), "add the strategy {strategy} to the vault"
    ),
    "retire-strategy": ActionSpec(
        VAULT,
        "retireStrategy",
        ("strategy",),
        "retire the strategy {strategy}: its funds return to the vault",
    ),
    "force-remove-strategy": ActionSpec(
        VAULT,
        "forceRemoveStrategy",
        ("strategy",),
        "force-remove the strategy {strategy}, writing off what it does not return",
    ),
    "set-treasury-fee": ActionSpec(
        VAULT, "setTreasuryFeeBps", ("bps",), "set the vault's treasury fee to {bps} bps"
    ),
    "set-mint-fee": ActionSpec(
        NFT, "setMintFee", ("tier", "fee"), "set the mint fee of tier {tier} to {fee} wei"
    ),
    "set-referral-bps": ActionSpec(
        NFT, "setReferralBps", ("bps",), "set the referral share to {bps} bps"
    ),
    "set-phi-bounds": ActionSpec(
        NFT, "setPhiBounds", ("min", "max"), "set the phi score bounds to {min}..{max}"
    ),
    "set-royalty": ActionSpec(
        NFT, "setDefaultRoyalty", ("receiver", "bps"), "pay royalties of {bps} bps to {receiver}"
    ),
    "set-profit-unlock-time": ActionSpec(
        VAULT,
        "setProfitUnlockTime",
        ("seconds",),
        "unlock harvested profit over {seconds} seconds",
    ),
    "sweep": ActionSpec(
        VAULT, "sweep", ("token", "to"), "send the vault's stray {token} balance to {to}"
    ),
    "begin-admin-transfer": ActionSpec(
        None,
        "beginDefaultAdminTransfer",
        ("admin",),
        "start moving DEFAULT_ADMIN_ROLE of {contract} to {admin} (two-step)",
    ),
    "accept-admin-transfer": ActionSpec(
        None,
        "acceptDefaultAdminTransfer",
        (),
        "accept DEFAULT_ADMIN_ROLE of {contract} for the Safe (second step)",
    ),
    "call": ActionSpec(None, None, (), "call {signature} on {contract}"),
}


@dataclass(frozen=True)
class Call:
    """One contract call, resolved and encoded."""

    action: str
    contract: str
    function: str  # canonical signature, e.g. grantRole(bytes32,address)
    args: list[str]
    data: str
    description: str
    decoded: str


def contract_name(value: str) -> str:
    name = CONTRACT_ALIASES.get(value.lower())
    if name is None:
        raise UsageError(
            f"unknown contract {value!r}",
            hint="use nft (SpaceFlightNFT), vault (SphinxYieldAggregator) or safe",
        )
    return name


def _inputs(entry: dict[str, Any]) -> list[str]:
    from sphinxctl.solidity.abi import abi_type

    return [abi_type(p) for p in entry.get("inputs", [])]


def _signature(entry: dict[str, Any]) -> str:
    from sphinxctl.solidity.abi import signature_of

    return signature_of(entry)


def _functions(abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in abi if e.get("type") == "function"]


def _find(abi: list[dict[str, Any]], contract: str, name: str, arity: int) -> dict[str, Any]:
    wanted = name if "(" in name else None
    for entry in _functions(abi):
        if entry.get("stateMutability") in ("view", "pure"):
            continue
        if wanted is not None and _signature(entry) == wanted.replace(" ", ""):
            return entry
        if wanted is None and entry["name"] == name and len(entry.get("inputs", [])) == arity:
            return entry
    raise UsageError(
        f"{contract} has no state-changing function {name}"
        + ("" if wanted else f" with {arity} argument(s)"),
        hint="check the name and argument types against the compiled ABI "
        "(`sphinxctl contracts compile`); a function only the newer contracts have needs "
        "those deployed",
        reference="abi-no-such-function",
    )


def _convert(abi_type: str, value: str, param: str) -> Any:
    from sphinxctl.solidity.abi import role_id

    text = value.strip()
    try:
        if abi_type == "address":
            from eth_utils import is_address, to_checksum_address

            if not is_address(text):
                raise ValueError
            return to_checksum_address(text)
        if abi_type.startswith(("uint", "int")):
            number = int(text, 0)
            if abi_type.startswith("uint") and number < 0:
                raise ValueError
            bits = int(abi_type.lstrip("uint") or 256)
            if abs(number) >= 2**bits:
                raise ValueError
            return number
        if abi_type == "bytes32" and text.upper().endswith("_ROLE"):
            return bytes.fromhex(role_id(text.upper())[2:])
        if abi_type.startswith("bytes"):
            raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
            size = abi_type[5:]
            if size and len(raw) != int(size):
                raise ValueError
            return raw
        if abi_type == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if abi_type == "string":
            return text
    except ValueError:
        pass
    raise UsageError(
        f"{param}: {value!r} is not a valid {abi_type}",
        hint="addresses are 0x + 40 hex digits; numbers are integers (wei, bps); bytes32 is "
        "0x + 64 hex digits or a role name such as ADMIN_ROLE",
        reference="bad-argument",
    )


def _shown(abi_type: str, value: Any) -> str:
    from sphinxctl.solidity.abi import checksum, role_name

    if isinstance(value, bytes):
        text = "0x" + value.hex()
        return role_name(text) if abi_type == "bytes32" else text
    if abi_type == "address":
        return checksum(str(value))
    return str(value)


def build_call(action: str, args: list[str], abis: dict[str, list[dict[str, Any]]]) -> Call:
    """Resolve an action and its arguments to calldata (see the module docstring)."""
    from eth_abi import encode

    from sphinxctl.solidity.abi import selector

    spec = ACTIONS.get(action)
    if spec is None:
        raise UsageError(
            f"unknown Safe action {action!r}",
            hint=f"one of: {', '.join(ACTIONS)}",
            reference="safe-unknown-action",
        )
    rest = list(args)
    if spec.contract is None:
        if not rest:
            raise UsageError(f"{action} needs the contract first (nft, vault or safe)")
        contract = contract_name(rest.pop(0))
    else:
        contract = spec.contract
    abi = abis.get(contract)
    if abi is None:
        raise UsageError(f"no ABI for {contract}", hint="run `sphinxctl contracts compile`")
    if spec.function is None:
        if not rest:
            raise UsageError("call needs a function signature, e.g. 'setBaseURI(string)'")
        entry = _find(abi, contract, rest.pop(0), 0)
    else:
        entry = _find(abi, contract, spec.function, len(spec.params))
    types = _inputs(entry)
    names = [str(p.get("name") or f"arg{i}") for i, p in enumerate(entry.get("inputs", []))]
    if len(rest) != len(types):
        raise UsageError(
            f"{action} {contract}: {_signature(entry)} takes {len(types)} argument(s) "
            f"({', '.join(names) or 'none'}), got {len(rest)}",
            reference="bad-argument",
        )
    values = [_convert(t, v, n) for t, v, n in zip(types, rest, names, strict=True)]
    signature = _signature(entry)
    data = selector(signature) + encode(types, values)
    shown = {n: _shown(t, v) for n, t, v in zip(names, types, values, strict=True)}
    params = dict(zip(spec.params, shown.values(), strict=False))
    words = spec.words.format(contract=contract, signature=signature, **params)
    return Call(
        action=action,
        contract=contract,
        function=signature,
        args=list(shown.values()),
        data="0x" + data.hex(),
        description=words,
        decoded=decode_call(contract, "0x" + data.hex(), abi),
    )


def decode_call(contract: str, data: str, abi: list[dict[str, Any]]) -> str:
    """`Contract.function(name=value, ...)` from calldata and the contract's ABI."""
    from eth_abi import decode

    from sphinxctl.solidity.abi import DECODE_ERRORS, selector

    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data)
    for entry in _functions(abi):
        signature = _signature(entry)
        if selector(signature) != raw[:4]:
            continue
        types = _inputs(entry)
        try:
            values = decode(types, raw[4:])
        except DECODE_ERRORS:
            return f"{contract}: undecodable arguments for {signature}"
        names = [str(p.get("name") or f"arg{i}") for i, p in enumerate(entry.get("inputs", []))]
        shown = ", ".join(
            f"{n}={_shown(t, v)}" for n, t, v in zip(names, types, values, strict=True)
        )
        return f"{contract}.{entry['name']}({shown})"
    return f"{contract}: unknown selector 0x{raw[:4].hex()}"
