"""The role -> permission table."""

from __future__ import annotations

import pytest

from sphinxctl.auth import ROLE_PERMISSIONS, Permission, Role, has_permission, permissions_of


def test_every_role_has_an_entry_and_admin_has_everything() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.admin] == frozenset(Permission)


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        ("viewer", {"contracts:read", "nfts:read", "vault:read", "auth:whoami"}),
        ("minter", {"contracts:read", "nfts:read", "vault:read", "auth:whoami", "nfts:mint"}),
        (
            "operator",
            {"contracts:read", "nfts:read", "vault:read", "auth:whoami", "rarity:publish"},
        ),
    ],
)
def test_role_grants_exactly_its_permissions(role: str, granted: set[str]) -> None:
    assert set(permissions_of(role)) == granted
    for permission in Permission:
        assert has_permission(role, permission) is (permission.value in granted)


def test_only_admin_may_pause_or_shut_down() -> None:
    for permission in (Permission.admin_pause, Permission.admin_shutdown):
        assert [r.value for r in Role if has_permission(r, permission)] == ["admin"]


@pytest.mark.parametrize(
    ("role", "permission"),
    [("root", "nfts:read"), ("viewer", "nfts:burn"), ("", ""), ("ADMIN", "admin:pause")],
)
def test_unknown_role_or_permission_grants_nothing(role: str, permission: str) -> None:
    assert has_permission(role, permission) is False
