"""Route x role matrix: every protected operation of the OpenAPI answers 401 without a token,
403 for each role whose permissions lack it, and succeeds for each role that has it.

The operations and their permissions are read from the app's own OpenAPI document, so a new
route without a case here fails the test instead of going unchecked.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sphinxctl.auth import has_permission
from tests.support.api_env import ROLES, DevnetProject, LiveServer, auth, wait_for_job

pytestmark = pytest.mark.integration

PATH_VALUES = {"chain": "ethereum", "token_id": "1", "contract": "SpaceFlightNFT"}
MINT = {"json": {"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "phi_score": 700}}

# In the order that makes each succeed: a token exists before it is read, a snapshot is
# published before its proof is asked for, the contract is paused before it is unpaused.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/nfts/{chain}/mint", MINT),
    ("GET", "/api/v1/contracts", {}),
    ("GET", "/api/v1/nfts/{chain}/{token_id}", {}),
    ("GET", "/api/v1/nfts/{chain}/rarity", {"params": {"ids": "1,2"}}),
    ("POST", "/api/v1/nfts/{chain}/rarity-snapshot", {"params": {"publish": "true"}}),
    ("GET", "/api/v1/nfts/{chain}/rarity-snapshot/{job_id}", {}),
    ("GET", "/api/v1/nfts/{chain}/{token_id}/rarity-proof", {}),
    ("GET", "/api/v1/vault/{chain}", {}),
    ("GET", "/api/v1/auth/whoami", {}),
    ("POST", "/api/v1/admin/{chain}/{contract}/pause", {}),
    ("POST", "/api/v1/admin/{chain}/{contract}/unpause", {}),
    ("POST", "/api/v1/admin/{chain}/nft/rarity-root", {"json": {"root": "0x" + "ab" * 32}}),
    ("POST", "/api/v1/admin/{chain}/vault/emergency-shutdown", {}),
]


def protected_operations(schema: dict[str, Any]) -> dict[tuple[str, str], str]:
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            permission = operation.get("x-required-permission")
            if path.startswith("/api/"):
                assert permission, f"{method.upper()} {path} declares no permission"
                assert operation.get("security"), f"{method.upper()} {path} declares no security"
            if permission:
                found[(method.upper(), path)] = permission
    return found


def test_every_protected_route_checks_its_permission_for_every_role(
    live_api: LiveServer, devnet: DevnetProject, tokens: dict[str, str]
) -> None:
    api = httpx.Client(base_url=live_api.url, timeout=60)
    operations = protected_operations(api.get("/openapi.json").json())
    assert set(operations) == {(method, path) for method, path, _ in CASES}
    checked = 0
    job_id = "0" * 32
    with devnet.snapshot():
        for method, template, kwargs in CASES:
            permission = operations[(method, template)]
            url = template.format(**PATH_VALUES, job_id=job_id)
            anonymous = api.request(method, url, **kwargs)
            assert anonymous.status_code == 401, (method, url, anonymous.text)
            for role in ROLES:
                response = api.request(method, url, headers=auth(tokens[role]), **kwargs)
                if has_permission(role, permission):
                    assert 200 <= response.status_code < 300, (method, url, role, response.text)
                    if template.endswith("/rarity-snapshot"):  # the proof case needs it done
                        job_id = response.json()["job_id"]
                        wait_for_job(api, tokens[role], "ethereum", job_id)
                else:
                    assert response.status_code == 403, (method, url, role, response.text)
                    assert response.json()["details"]["permission"] == permission
                checked += 1
    assert checked == len(CASES) * len(ROLES)
