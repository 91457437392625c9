"""The app without a chain: middleware, errors, auth, rate limits, CORS, docs, logs, metrics.

Chains point at closed ports here; Redis is replaced by the in-memory limiter and revocation
store unless a test is about Redis.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from sphinxctl import metrics
from tests.support.api_env import auth, memory_app, tokens_for

pytestmark = pytest.mark.integration


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return float(value or 0.0)


@pytest.fixture
def project(offline_project: tuple[Path, Any]) -> tuple[Path, Any]:
    return offline_project


@pytest.fixture
def client(project: tuple[Path, Any]) -> Iterator[TestClient]:
    root, settings = project
    with TestClient(memory_app(root, settings, poll_interval=3600)) as test_client:
        yield test_client


@pytest.fixture
def tokens(project: tuple[Path, Any]) -> dict[str, str]:
    root, settings = project
    return tokens_for(settings, root)


def test_health_answers_without_touching_any_dependency(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_every_response_has_a_request_id_and_security_headers(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "client-chosen-id-1"})
    assert response.headers["x-request-id"] == "client-chosen-id-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "server" not in response.headers
    forged = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert forged.headers["x-request-id"] != "bad id\twith spaces"
    assert len(forged.headers["x-request-id"]) == 32


def test_unknown_routes_and_methods_get_the_json_error_body(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not-found"
    assert missing.json()["request_id"] == missing.headers["x-request-id"]
    wrong = client.delete("/api/v1/contracts")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert wrong.json()["error"] == "method-not-allowed"


def test_protected_routes_refuse_missing_malformed_and_forged_tokens(
    client: TestClient, tokens: dict[str, str]
) -> None:
    before = sample("sphinxos_auth_failures_total", reason="bad-signature")
    none = client.get("/api/v1/auth/whoami")
    assert none.status_code == 401
    assert none.json()["error"] == "token-missing"
    assert none.headers["www-authenticate"].startswith("Bearer")
    basic = client.get("/api/v1/auth/whoami", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401
    forged = client.get("/api/v1/auth/whoami", headers=auth(tokens["admin"][:-2] + "AA"))
    assert forged.status_code == 401
    assert forged.json()["details"]["reason"] == "bad-signature"
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]
    assert sample("sphinxos_auth_failures_total", reason="bad-signature") == before + 1
    ok = client.get("/api/v1/auth/whoami", headers=auth(tokens["viewer"]))
    assert ok.status_code == 200
    assert ok.json()["role"] == "viewer"
    denied = client.post(
        "/api/v1/nfts/ethereum/mint",
        headers=auth(tokens["viewer"]),
        json={"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "phi_score": 500},
    )
    assert denied.status_code == 403
    assert denied.json()["details"] == {"permission": "nfts:mint", "role": "viewer"}


def test_a_revoked_token_is_refused(project: tuple[Path, Any], tokens: dict[str, str]) -> None:
    import jwt

    from sphinxctl.auth import AsyncMemoryRevocations

    root, settings = project
    revocations = AsyncMemoryRevocations()
    with TestClient(memory_app(root, settings, revocations=revocations)) as client:
        token = tokens["operator"]
        assert client.get("/api/v1/auth/whoami", headers=auth(token)).status_code == 200
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        revocations.store.revoke(jti, 600)
        refused = client.get("/api/v1/auth/whoami", headers=auth(token))
        assert refused.status_code == 401
        assert refused.json()["details"]["reason"] == "revoked"


def test_rate_limit_answers_429_with_retry_after(project: tuple[Path, Any]) -> None:
    from sphinxctl.settings.sections import RateLimitRule

    root, settings = project
    settings.api.rate_limits = {
        "GET /api/v1/auth/whoami": RateLimitRule(capacity=2, refill_per_second=0.01)
    }
    token = tokens_for(settings, root)["viewer"]
    before = sample("sphinxos_rate_limit_exceeded_total", route="/api/v1/auth/whoami")
    with TestClient(memory_app(root, settings)) as client:
        statuses = [client.get("/api/v1/auth/whoami", headers=auth(token)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[2]
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "rate-limited"
    assert statuses[0].headers["ratelimit-limit"] == "2"
    assert sample("sphinxos_rate_limit_exceeded_total", route="/api/v1/auth/whoami") == before + 1


def test_rate_limit_counts_unauthenticated_requests_by_client_address(
    project: tuple[Path, Any],
) -> None:
    from sphinxctl.settings.sections import RateLimitRule

    root, settings = project
    settings.api.default_rate_limit = RateLimitRule(capacity=3, refill_per_second=0.01)
    with TestClient(memory_app(root, settings)) as client:
        statuses = [client.get("/api/v1/contracts").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_bodies_over_the_limit_are_refused_whether_declared_or_streamed(
    project: tuple[Path, Any], tokens: dict[str, str]
) -> None:
    root, settings = project
    settings.api.max_body_bytes = 256
    url = "/api/v1/nfts/ethereum/mint"
    headers = {**auth(tokens["minter"]), "Content-Type": "application/json"}
    with TestClient(memory_app(root, settings)) as client:
        declared = client.post(url, headers=headers, content=b"{" + b" " * 1000 + b"}")
        assert declared.status_code == 413
        assert declared.json()["error"] == "body-too-large"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 100

        streamed = client.post(url, headers=headers, content=chunks())
        assert streamed.status_code == 413


def test_cors_allows_only_the_configured_origins(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = client.options(
        "/api/v1/contracts", headers={"Origin": "http://localhost:3000", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    other = client.options(
        "/api/v1/contracts", headers={"Origin": "https://evil.example", **preflight}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    simple = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_a_wildcard_origin_is_never_combined_with_credentials(project: tuple[Path, Any]) -> None:
    root, settings = project
    settings.api.cors_origins = ["*"]
    with TestClient(memory_app(root, settings)) as client:
        response = client.get("/health", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_docs_and_openapi_are_off_in_mainnet_unless_enabled(project: tuple[Path, Any]) -> None:
    root, settings = project
    settings.api.docs_enabled = None  # not configured: the environment decides
    mainnet = settings.model_copy(update={"environment": "mainnet"})
    with TestClient(memory_app(root, mainnet)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
    mainnet.api.docs_enabled = True
    with TestClient(memory_app(root, mainnet)) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
    with TestClient(memory_app(root, settings)) as client:  # local: on by default
        assert client.get("/openapi.json").status_code == 200


def test_rejected_input_is_never_echoed_and_is_classified(
    client: TestClient, tokens: dict[str, str]
) -> None:
    attack = "1' OR '1'='1"
    before = sample("sphinxos_suspicious_requests_total", category="sql-injection")
    response = client.post(
        "/api/v1/nfts/ethereum/mint",
        headers=auth(tokens["minter"]),
        json={"recipient": attack, "phi_score": 500},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation-failed"
    assert attack not in response.text
    assert body["details"]["errors"][0]["loc"] == ["body", "recipient"]
    assert sample("sphinxos_suspicious_requests_total", category="sql-injection") == before + 1


def test_a_bad_eip55_checksum_is_rejected(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/nfts/ethereum/mint",
        headers=auth(tokens["minter"]),
        json={"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79c8", "phi_score": 500},
    )
    assert response.status_code == 422
    assert "checksum" in response.json()["message"]


def test_routes_on_undeployed_contracts_say_so(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/api/v1/nfts/ethereum/1", headers=auth(tokens["viewer"]))
    assert response.status_code == 404
    assert response.json()["error"] == "contract-not-deployed"
    unknown = client.get("/api/v1/vault/solana", headers=auth(tokens["viewer"]))
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown-chain"


def test_metrics_label_route_templates_never_raw_paths(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.get("/api/v1/nfts/ethereum/987654321", headers=auth(tokens["viewer"]))
    client.get("/no/such/path/42")
    text = client.get("/metrics").text
    assert 'route="/api/v1/nfts/{chain}/{token_id}"' in text
    assert 'route="<unmatched>"' in text
    assert "987654321" not in text
    assert "/no/such/path" not in text


def test_readiness_names_every_failed_part_to_admins_only(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for headers in ({}, auth(tokens["viewer"]), auth(tokens["admin"] + "x")):
        bare = client.get("/health/ready", headers=headers)
        # A probe gets the names of the failing checks, never hosts or error text.
        assert bare.status_code == 503 and set(bare.json()) == {"ready", "failed"}
        assert bare.json()["ready"] is False
        assert {"chain:ethereum", "contracts"} <= set(bare.json()["failed"])
        assert "127.0.0.1" not in bare.text
    response = client.get("/health/ready", headers=auth(tokens["admin"]))
    assert response.status_code == 503
    report = response.json()
    assert report["ready"] is False
    assert {"chain:ethereum", "chain:polygon", "contracts"} <= set(report["failed"])
    assert report["chains"][0]["reachable"] is False
    assert report["database"]["ok"] is True  # the SQLite store migrated itself at startup
    assert client.get("/health").status_code == 200


def test_unhandled_exceptions_become_a_json_500(project: tuple[Path, Any]) -> None:
    root, settings = project
    app = memory_app(root, settings)

    def boom() -> None:
        raise RuntimeError("kaboom with secret 0x" + "ab" * 32)

    app.add_api_route("/boom", boom)
    before = sample("sphinxos_errors_total", component="api", kind="unhandled_exception")
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == "internal-error"
    assert "kaboom" not in response.text
    assert response.headers["x-request-id"] == response.json()["request_id"]
    assert (
        sample("sphinxos_errors_total", component="api", kind="unhandled_exception") == before + 1
    )


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    from sphinxctl.api.logs import configure_logging

    names = ("sphinxctl", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (
            logging.getLogger(n).handlers[:],
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
            logging.getLogger(n).disabled,
        )
        for n in names
    }
    stream = io.StringIO()
    configure_logging("info", stream)
    try:
        yield stream
    finally:
        for name, (handlers, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.level, logger.propagate = handlers, level, propagate
            logger.disabled = disabled


def test_access_log_is_json_and_never_contains_tokens(
    client: TestClient, tokens: dict[str, str], json_logs: io.StringIO
) -> None:
    token = tokens["admin"]
    client.get("/api/v1/auth/whoami", headers=auth(token))
    client.get("/health?token=" + token + "&x=1")
    client.get("/api/v1/auth/whoami", headers=auth(token + "x"))
    text = json_logs.getvalue()
    assert token not in text
    assert token.split(".")[1] not in text
    lines = [json.loads(line) for line in text.splitlines()]
    access = [line for line in lines if line["logger"] == "sphinxctl.api.access"]
    assert len(access) == 3
    assert access[0]["route"] == "/api/v1/auth/whoami"
    assert access[0]["sub"] == "test-admin" and access[0]["role"] == "admin"
    assert access[0]["status"] == 200 and access[0]["duration_ms"] > 0
    assert access[1]["query"] == "token=********&x=1"
    assert access[2]["status"] == 401


def test_redis_down_fails_closed_for_tokens_and_readiness_names_it(
    project: tuple[Path, Any], tokens: dict[str, str]
) -> None:
    from sphinxctl.api import create_app
    from tests.support.redis_server import RedisServer

    root, settings = project
    with RedisServer() as redis:
        settings.redis.url = SecretStr(redis.url)
        settings.auth.revocation_grace_seconds = 0.5
        with TestClient(create_app(settings, root, poll_interval=3600)) as client:
            assert client.get("/api/v1/auth/whoami", headers=auth(tokens["operator"])).is_success
            time.sleep(0.6)  # the operator's confirmation is now older than the grace
            for role in ("viewer", "admin"):
                assert client.get("/api/v1/auth/whoami", headers=auth(tokens[role])).is_success
            redis.kill()
            # a token Redis did not confirm unrevoked within the grace is refused ...
            refused = client.get("/api/v1/auth/whoami", headers=auth(tokens["operator"]))
            assert refused.status_code == 503
            assert refused.json()["details"]["reason"] == "revocation-unavailable"
            # ... one it confirmed within auth.revocation_grace_seconds is still accepted
            grace = client.get("/api/v1/auth/whoami", headers=auth(tokens["viewer"]))
            assert grace.status_code == 200
            ready = client.get("/health/ready", headers=auth(tokens["admin"]))
            assert "redis" in ready.json()["failed"]
            assert client.get("/health").status_code == 200
            assert sample("sphinxos_rate_limit_fallback_active") == 1.0
            redis.start()
            assert (
                client.get("/api/v1/auth/whoami", headers=auth(tokens["viewer"])).status_code == 200
            )


def test_a_server_process_settles_its_heap_once_started_and_a_test_app_does_not(
    project: tuple[Path, Any],
) -> None:
    """`serve` builds its app with settle_heap: what start-up loaded leaves the cyclic
    collector's sight (gc.freeze), so a full collection no longer stalls requests."""
    import gc

    root, settings = project
    thresholds = gc.get_threshold()
    try:
        gc.unfreeze()
        with TestClient(memory_app(root, settings, poll_interval=3600)) as plain:
            assert plain.get("/health").status_code == 200
            assert gc.get_freeze_count() == 0
        with TestClient(memory_app(root, settings, poll_interval=3600, settle_heap=True)) as c:
            assert c.get("/health").status_code == 200
            assert gc.get_freeze_count() > 10_000
            assert gc.get_threshold()[0] > thresholds[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
