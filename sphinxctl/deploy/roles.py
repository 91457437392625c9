"""The role graph of an AccessControl contract, rebuilt from its RoleGranted/RoleRevoked logs."""

from __future__ import annotations

from sphinxctl.chains.rpc import ChainClient, RpcError
from sphinxctl.solidity.abi import checksum, encode_call, keccak_hex, role_id, role_name

ROLE_GRANTED = keccak_hex(b"RoleGranted(bytes32,address,address)")
ROLE_REVOKED = keccak_hex(b"RoleRevoked(bytes32,address,address)")
FIRST_CHUNK = 50_000


def _logs(client: ChainClient, address: str, start: int, end: int) -> list[dict[str, object]]:
    """Logs in [start, end], in chunks that shrink when the node refuses a range."""
    found: list[dict[str, object]] = []
    chunk = FIRST_CHUNK
    block = start
    while block <= end:
        last = min(end, block + chunk - 1)
        try:
            found += client.logs(
                {
                    "address": address,
                    "fromBlock": hex(block),
                    "toBlock": hex(last),
                    "topics": [[ROLE_GRANTED, ROLE_REVOKED]],
                }
            )
        except RpcError:
            if chunk == 1:
                raise
            chunk = max(1, chunk // 4)
            continue
        block = last + 1
    return found


def role_holders(client: ChainClient, address: str, from_block: int = 0) -> dict[str, list[str]]:
    """Role name -> current holders, replaying grants and revocations in log order."""
    head = client.block_number()
    logs = _logs(client, address, from_block, head)
    logs.sort(key=lambda log: (int(str(log["blockNumber"]), 16), int(str(log["logIndex"]), 16)))
    holders: dict[str, set[str]] = {}
    for log in logs:
        topics = log["topics"]
        assert isinstance(topics, list)
        role = role_name(str(topics[1]))
        account = checksum("0x" + str(topics[2])[-40:])
        members = holders.setdefault(role, set())
        if topics[0] == ROLE_GRANTED:
            members.add(account)
        else:
            members.discard(account)
    return {role: sorted(members) for role, members in sorted(holders.items()) if members}


def has_role(client: ChainClient, contract: str, role: str, account: str) -> bool:
    data = encode_call("hasRole(bytes32,address)", [role_id(role), account])
    result = client.call({"to": contract, "data": data})
    return result not in ("0x", "") and int(result, 16) == 1


def pending_default_admin(client: ChainClient, contract: str) -> str | None:
    """The account a started DEFAULT_ADMIN_ROLE transfer goes to (None when none is pending)."""
    result = client.call({"to": contract, "data": encode_call("pendingDefaultAdmin()", [])})
    if result in ("0x", ""):
        return None
    account = checksum("0x" + result[2:66][-40:])
    return None if int(account, 16) == 0 else account


def default_admin_moving_to(client: ChainClient, contract: str, account: str) -> bool:
    """True when `account` already is the default admin or the pending one."""
    if has_role(client, contract, "DEFAULT_ADMIN_ROLE", account):
        return True
    pending = pending_default_admin(client, contract)
    return pending is not None and pending.lower() == account.lower()


def roles_of(graph: dict[str, list[str]], account: str) -> list[str]:
    return sorted(
        role for role, members in graph.items() if account.lower() in (m.lower() for m in members)
    )
