"""Hostile requests get 4xx JSON answers, never a 500: huge path ids, duplicate credentials,
unparsable HTTP, auth before body and query validation, readiness details for admins only
and computed at most once per second however many probes ask."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.api_env import auth, memory_app, tokens_for

pytestmark = pytest.mark.integration

HUGE_ID = "9" * 4301  # past Python's int() digit limit
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


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


def assert_json_error(response: httpx.Response, status: int, error: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"error", "message", "request_id"}
    if error is not None:
        assert body["error"] == error


@pytest.mark.parametrize("suffix", ["", "/rarity-proof"])
def test_token_ids_beyond_uint256_are_404_or_422_never_500(
    client: TestClient, tokens: dict[str, str], suffix: str
) -> None:
    for headers in ({}, auth(tokens["viewer"])):
        for token_id in (HUGE_ID, "1" * 79):  # longer than any uint256: no route matches
            response = client.get(f"/api/v1/nfts/ethereum/{token_id}{suffix}", headers=headers)
            assert_json_error(response, 404, "not-found")
    too_big = client.get(
        f"/api/v1/nfts/ethereum/{2**256}{suffix}", headers=auth(tokens["viewer"])
    )  # 78 digits, above 2**256 - 1
    assert_json_error(too_big, 422, "validation-failed")


def test_two_authorization_headers_are_refused(client: TestClient, tokens: dict[str, str]) -> None:
    for pair in ((tokens["viewer"], tokens["admin"]), (tokens["admin"], tokens["admin"])):
        headers = [("Authorization", f"Bearer {pair[0]}"), ("Authorization", f"Bearer {pair[1]}")]
        response = client.get("/api/v1/auth/whoami", headers=headers)
        assert_json_error(response, 400, "duplicate-authorization")
    assert client.get("/api/v1/auth/whoami", headers=auth(tokens["viewer"])).status_code == 200


def test_without_a_token_body_and_query_are_not_looked_at(
    client: TestClient, tokens: dict[str, str]
) -> None:
    bad_json = {"Content-Type": "application/json"}
    for headers in ({}, auth(tokens["admin"] + "x")):
        malformed = client.post(
            "/api/v1/nfts/ethereum/mint", content=b"{not json", headers={**bad_json, **headers}
        )
        assert_json_error(malformed, 401)
        unknown_query = client.get("/api/v1/auth/whoami?debug=1", headers=headers)
        assert_json_error(unknown_query, 401)
        bad_chain = client.get("/api/v1/nfts/NOT_A_CHAIN/1", headers=headers)
        assert_json_error(bad_chain, 401)
    # a token without the permission: 403 before the body is read
    viewer = {**bad_json, **auth(tokens["viewer"])}
    refused = client.post("/api/v1/nfts/ethereum/mint", content=b"{not json", headers=viewer)
    assert_json_error(refused, 403, "forbidden")
    # with the permission, the body is validated as before
    minter = {**bad_json, **auth(tokens["minter"])}
    malformed = client.post("/api/v1/nfts/ethereum/mint", content=b"{not json", headers=minter)
    assert malformed.status_code in (400, 422) and malformed.json()["error"]
    unknown = client.get("/api/v1/auth/whoami?debug=1", headers=auth(tokens["viewer"]))
    assert_json_error(unknown, 422, "validation-failed")


def test_rate_limit_headers_are_still_sent(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/api/v1/auth/whoami", headers=auth(tokens["viewer"]))
    assert response.status_code == 200
    assert int(response.headers["ratelimit-limit"]) > 0
    assert int(response.headers["ratelimit-remaining"]) >= 0


def test_readiness_is_bare_for_probes_and_computed_once_per_second(
    project: tuple[Path, Any], tokens: dict[str, str]
) -> None:
    root, settings = project
    app = memory_app(root, settings, poll_interval=3600)

    async def probe_storm() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            probes = [api.get("/health/ready") for _ in range(100)]
            return await asyncio.gather(*probes)

    with TestClient(app):  # runs the lifespan
        responses = asyncio.run(probe_storm())
        cache = app.state.readiness_cache
        assert cache.computed == 1  # 100 probes, one look at the chains, Redis and database
        assert {r.status_code for r in responses} == {503}
        assert all(set(r.json()) == {"ready", "failed"} for r in responses)
        assert all(r.json()["ready"] is False and r.json()["failed"] for r in responses)
        text = " ".join(r.text for r in responses)
        assert "127.0.0.1" not in text and "sqlite" not in text


def test_a_huge_content_length_is_a_413_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/api/v1/nfts/ethereum/mint",
        content=b"{}",
        headers={"Content-Length": "9" * 5000, "Content-Type": "application/json"},
    )
    assert_json_error(response, 413, "body-too-large")


def test_unparsable_http_gets_the_json_error_body(project: tuple[Path, Any]) -> None:
    """uvicorn answers these itself, before the app: through the server's own protocol."""
    import threading

    import uvicorn

    from sphinxctl.api.server import ServeOptions, uvicorn_config_kwargs
    from tests.support.ports import free_port

    root, settings = project
    port = free_port()
    options = ServeOptions(host="127.0.0.1", port=port, workers=1, log_level="critical")
    server = uvicorn.Server(
        uvicorn.Config(
            memory_app(root, settings, poll_interval=3600), **uvicorn_config_kwargs(options)
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            threading.Event().wait(0.02)
        for raw in (
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
            b"POST /api/v1/nfts/ethereum/mint HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n",
        ):
            status, headers, body = _raw_exchange(port, raw)
            assert status == 400, (raw, body)
            assert headers["content-type"] == "application/json"
            assert json.loads(body)["error"] == "bad-request"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _raw_exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body
