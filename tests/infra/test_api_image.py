"""The API image by digest: testnet and mainnet refuse a tag or nothing, saying what to do;
local deploys what `nox -s image` recorded; the lint flags a tag read back from a cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sphinxctl.errors import ConfigError
from sphinxctl.infra.image import IMAGE_RECORD, LOCAL_FALLBACK, api_image, by_digest
from sphinxctl.infra.lint import lint_objects
from sphinxctl.infra.render import Sources, render_objects
from tests.support.infra_env import ROOT, image_ref, settings_for

DIGEST = image_ref("0.9.0")
SOURCES = Sources.under(ROOT)


def _api(objects: list[dict[str, Any]]) -> str:
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "sphinx-api"
    )
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.parametrize("env", ["testnet", "mainnet"])
def test_a_tag_is_refused_outside_local_with_what_to_do(env: str) -> None:
    settings = settings_for(env, SPHINX_API_IMAGE="ghcr.io/sphinx/api:1.2.3")
    with pytest.raises(ConfigError) as info:
        render_objects(settings, SOURCES)
    assert info.value.reference == "api-image-not-pinned"
    assert "ghcr.io/sphinx/api:1.2.3" in info.value.message
    assert "SPHINX_API_IMAGE=" in (info.value.hint or "") and "@sha256:" in (info.value.hint or "")


@pytest.mark.parametrize("env", ["testnet", "mainnet"])
def test_no_image_is_refused_outside_local(env: str) -> None:
    settings = settings_for(env, SPHINX_API_IMAGE="")
    with pytest.raises(ConfigError) as info:
        render_objects(settings, SOURCES)
    assert info.value.reference == "api-image-unset"


@pytest.mark.parametrize("env", ["testnet", "mainnet"])
def test_a_digest_reaches_the_deployment_and_the_migration_job(env: str) -> None:
    objects = render_objects(settings_for(env, SPHINX_API_IMAGE=DIGEST), SOURCES)
    assert _api(objects) == DIGEST
    job = next(o for o in objects if o["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == DIGEST
    assert not [f for f in lint_objects(objects) if f.rule == "api-image-digest"]


def test_local_deploys_the_image_nox_recorded(tmp_path: Path) -> None:
    settings = settings_for("local", SPHINX_API_IMAGE="")
    assert api_image(settings, tmp_path) == LOCAL_FALLBACK  # nothing built here
    record = tmp_path / IMAGE_RECORD
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"ref": "localhost/sphinx-api@sha256:" + "c" * 64}))
    assert api_image(settings, tmp_path) == "localhost/sphinx-api@sha256:" + "c" * 64
    configured = settings_for("local", SPHINX_API_IMAGE="my/api:dev")
    assert api_image(configured, tmp_path) == "my/api:dev"  # a workstation may use a tag


def test_the_lint_flags_a_tagged_api_image_outside_local() -> None:
    objects = render_objects(settings_for("mainnet", SPHINX_API_IMAGE=DIGEST), SOURCES)
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "sphinx-api"
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/sphinx/api:1.2.3"
    found = [f for f in lint_objects(objects) if f.rule == "api-image-digest"]
    assert len(found) == 1 and found[0].severity == "error"
    assert "SPHINX_API_IMAGE" in found[0].message


def test_digest_references() -> None:
    assert by_digest("ghcr.io/sphinx/api@sha256:" + "0" * 64)
    assert by_digest("localhost:5000/sphinx/api:1.0@sha256:" + "a" * 64)
    assert not by_digest("ghcr.io/sphinx/api:1.0")
    assert not by_digest("ghcr.io/sphinx/api@sha256:abc")
