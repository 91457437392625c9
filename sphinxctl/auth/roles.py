"""Roles and permissions: the one table saying what each role may do."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """The `role` claim of a token."""

    admin = "admin"
    operator = "operator"
    minter = "minter"
    viewer = "viewer"


class Permission(StrEnum):
    """What an API route requires (routes name one permission each)."""

    contracts_read = "contracts:read"
    nfts_read = "nfts:read"
    nfts_mint = "nfts:mint"
    rarity_publish = "rarity:publish"
    vault_read = "vault:read"
    admin_pause = "admin:pause"
    admin_shutdown = "admin:shutdown"
    auth_whoami = "auth:whoami"


_READ = frozenset(
    {
        Permission.contracts_read,
        Permission.nfts_read,
        Permission.vault_read,
        Permission.auth_whoami,
    }
)

# The table. Every role reads; minters mint; operators publish rarity snapshots; admins do all.
ROLE_PERMISSIONS: MappingProxyType[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.viewer: _READ,
        Role.minter: _READ | {Permission.nfts_mint},
        Role.operator: _READ | {Permission.rarity_publish},
        Role.admin: frozenset(Permission),
    }
)


def has_permission(role: Role | str, permission: Permission | str) -> bool:
    """True when `role` grants `permission`; unknown roles or permissions grant nothing."""
    try:
        return Permission(permission) in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def permissions_of(role: Role | str) -> list[str]:
    """The permission strings of `role`, sorted (empty for an unknown role)."""
    try:
        granted = ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return []
    return sorted(p.value for p in granted)
