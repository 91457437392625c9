"""schemathesis over every operation of the API's OpenAPI, with every default check, once with
a valid token of each role and once without a token, against the live API on the devnet.

The only help schemathesis gets is a generator for the documented `eth-address` string format
(EIP-55 checksummed or all-lowercase addresses, which a regular expression cannot express);
everything else is generated from the schema. Chain state is reverted after each test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sphinxctl.validation import to_checksum_address
from tests.support.api_env import (
    ROLES,
    DevnetProject,
    LiveServer,
    auth,
    base_config,
    load,
    take_snapshot,
    write_config,
)

pytestmark = pytest.mark.integration

schemathesis.openapi.format(
    "eth-address",
    st.binary(min_size=20, max_size=20)
    .map(lambda raw: "0x" + raw.hex())
    .flatmap(lambda lower: st.sampled_from([lower, to_checksum_address(lower)])),
)


def _openapi() -> dict[str, Any]:
    """The OpenAPI document of an app on a two-chain config like the devnet's.

    Built at import (pytest parametrizes by operation at collection time); the test below
    checks it equals what the live API serves.
    """
    from sphinxctl.api import create_app
    from sphinxctl.auth import AsyncMemoryRevocations
    from sphinxctl.ratelimit import MemoryBackend, RateLimiter

    root = Path(tempfile.mkdtemp(prefix="sphinx-openapi-"))
    try:
        settings = load(write_config(root, base_config("redis://127.0.0.1:1/0")))
        app = create_app(
            settings,
            root,
            limiter=RateLimiter(MemoryBackend()),
            revocations=AsyncMemoryRevocations(),
        )
        return dict(app.openapi())
    finally:
        shutil.rmtree(root, ignore_errors=True)


OPENAPI = _openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_the_fuzzed_document_is_the_one_the_api_serves(live_api: LiveServer) -> None:
    assert httpx.get(f"{live_api.url}/openapi.json").json() == OPENAPI


@pytest.fixture(scope="module")
def seeded(devnet: DevnetProject, live_api: LiveServer, tokens: dict[str, str]) -> Iterator[None]:
    """Tokens 1-3 on both chains and a published snapshot on ethereum, so generated requests
    also reach the success paths of reads and proofs; all reverted after the module."""
    api = httpx.Client(base_url=live_api.url, timeout=60)
    with devnet.snapshot():
        for chain in ("ethereum", "polygon"):
            for score in (300, 650, 990):
                body = {
                    "recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    "phi_score": score,
                }
                minted = api.post(
                    f"/api/v1/nfts/{chain}/mint", headers=auth(tokens["minter"]), json=body
                )
                assert minted.status_code == 200, minted.text
        take_snapshot(api, tokens["operator"], "ethereum")
        yield


@pytest.fixture
def reverted(devnet: DevnetProject, seeded: None) -> Iterator[None]:
    with devnet.snapshot():
        yield


FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.include(path_regex="^/api/").parametrize()
@FUZZ
def test_api_operations_pass_every_check_for_every_role(
    case: Any, live_api: LiveServer, tokens: dict[str, str], reverted: None
) -> None:
    for role in (*ROLES, None):
        try:
            case.call_and_validate(
                base_url=live_api.url, headers=auth(tokens[role]) if role else None
            )
        except Exception as exc:
            exc.add_note(f"as {role or 'anonymous (no token)'}")
            raise


@schema.exclude(path_regex="^/api/").parametrize()
@FUZZ
def test_operational_endpoints_pass_every_check(case: Any, live_api: LiveServer) -> None:
    case.call_and_validate(base_url=live_api.url)
