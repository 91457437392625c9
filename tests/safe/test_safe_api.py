"""After handover the API's admin routes propose to the Safe (202 + proposal id) instead of
failing with AccessControlUnauthorizedAccount; the proposal, signed by two owners and
executed, takes effect on the devnet."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.safe.test_safe_flow import VAULT, _paused, _safe_nonce, _sign
from tests.support.api_env import auth, memory_app, tokens_for
from tests.support.safe_env import SafeDevnet

pytestmark = pytest.mark.integration


def _api(devnet: SafeDevnet) -> tuple[TestClient, dict[str, str]]:
    from sphinxctl.settings import load_settings

    settings = load_settings("local", devnet.project / "environments").settings
    app = memory_app(devnet.project, settings, poller=None)
    return TestClient(app), tokens_for(settings, devnet.project)


def _sign_and_execute(devnet: SafeDevnet, proposal: str) -> dict[str, Any]:
    for owner in (3, 5):
        assert _sign(devnet, proposal, owner).exit_code == 0
    result = devnet.run("safe", "execute", proposal, "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_api_admin_routes_propose_to_the_safe_after_handover(devnet: SafeDevnet) -> None:
    client, tokens = _api(devnet)
    with client:
        paused = client.post(f"/api/v1/admin/ethereum/{VAULT}/pause", headers=auth(tokens["admin"]))
        assert paused.status_code == 202, paused.text
        body = paused.json()
        assert body["status"] == "proposed" and body["call"] == f"{VAULT}.pause()"
        assert body["signatures_required"] == 2 and body["safe"] == devnet.safe
        assert not _paused(devnet, VAULT)
        _sign_and_execute(devnet, body["proposal_id"])
        assert _paused(devnet, VAULT)

        unpause = client.post(
            f"/api/v1/admin/ethereum/{VAULT}/unpause", headers=auth(tokens["admin"])
        )
        assert unpause.status_code == 202, unpause.text
        proposal = unpause.json()["proposal_id"]
        assert unpause.json()["nonce"] == devnet.base_nonce + 1
        executed = _sign_and_execute(devnet, proposal)
        assert f"{VAULT}.Unpaused" in executed["events"]
        assert not _paused(devnet, VAULT) and _safe_nonce(devnet) == devnet.base_nonce + 2

        root = "0x" + "ab" * 32
        published = client.post(
            "/api/v1/admin/ethereum/nft/rarity-root",
            headers=auth(tokens["operator"]),
            json={"root": root},
        )
        assert published.status_code == 202, published.text
        assert published.json()["call"] == f"SpaceFlightNFT.setRarityRoot(newRoot={root})"
        shutdown = client.post(
            "/api/v1/admin/ethereum/vault/emergency-shutdown", headers=auth(tokens["admin"])
        )
        assert shutdown.status_code == 202, shutdown.text
        assert "irreversible" in shutdown.json()["description"]

    trail = devnet.run("audit", "list", "--action", "safe.propose", "-o", "json")
    actors = {e["actor"] for e in json.loads(trail.stdout)["events"]}
    assert {"test-admin", "test-operator"} <= actors
