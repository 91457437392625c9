"""The API pod's rendered contract: deployment record and ABIs in ConfigMaps mounted where
`serve` reads them, a checksum that rolls the pods when either changes, and which signing keys
reach the pod per environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sphinxctl.infra.render import Sources, render_objects
from sphinxctl.infra.secret_values import SecretValue
from tests.support.infra_env import DEPLOYER_KEY, ROOT, settings_for

KEY = "0x" + "5c" * 32


def _project(tmp_path: Path, record: dict[str, Any] | None = None) -> Path:
    artifacts = tmp_path / "build" / "artifacts"
    artifacts.mkdir(parents=True)
    manifest = {"contracts": {"SpaceFlightNFT": "SpaceFlightNFT.json"}, "cache_key": "k"}
    (artifacts / "manifest.json").write_text(json.dumps(manifest))
    artifact = {"contract_name": "SpaceFlightNFT", "abi": [{"type": "function", "name": "x"}],
                "bytecode": "0x6080" * 1000, "deployed_bytecode": "0x6080", "metadata": "{}",
                "immutable_references": {"1": []}}  # fmt: skip
    (artifacts / "SpaceFlightNFT.json").write_text(json.dumps(artifact))
    (tmp_path / "deployments").mkdir()
    record = record or {"chains": {"ethereum": {"contracts": {}}}}
    (tmp_path / "deployments" / "mainnet.json").write_text(json.dumps(record))
    return tmp_path


def _render(project: Path | None, env: str = "mainnet", **environ: str) -> list[dict[str, Any]]:
    sources = Sources(
        ROOT / "manifests", ROOT / "alert_rules", ROOT / "manifests/grafana/dashboards", project
    )
    return render_objects(settings_for(env, **environ), sources)


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _checksum(objects: list[dict[str, Any]]) -> str:
    template = _get(objects, "Deployment", "sphinx-api")["spec"]["template"]
    return str(template["metadata"]["annotations"]["sphinx.io/config-checksum"])


def test_record_and_abis_are_mounted_where_serve_reads_them(tmp_path: Path) -> None:
    objects = _render(_project(tmp_path))
    record = _get(objects, "ConfigMap", "sphinx-api-deployment")["data"]
    assert json.loads(record["mainnet.json"])["chains"]["ethereum"] == {"contracts": {}}
    contracts = _get(objects, "ConfigMap", "sphinx-api-contracts")["data"]
    assert sorted(contracts) == ["SpaceFlightNFT.json", "manifest.json"]
    nft = json.loads(contracts["SpaceFlightNFT.json"])
    assert nft["abi"] == [{"type": "function", "name": "x"}]
    assert nft["bytecode"] == "" and nft["metadata"] == ""
    pod = _get(objects, "Deployment", "sphinx-api")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    config_dir = mounts["config"]
    root = config_dir.rsplit("/", 1)[0]  # serve's project root is the config dir's parent
    assert mounts["deployment"] == f"{root}/deployments"
    assert mounts["contracts"] == f"{root}/build/artifacts"
    assert f"--config-dir={config_dir}" in "=".join(pod["containers"][0]["args"])


def test_a_new_deployment_record_rolls_the_pods(tmp_path: Path) -> None:
    first = _checksum(_render(_project(tmp_path / "a")))
    again = _checksum(_render(_project(tmp_path / "b")))
    changed = _checksum(_render(_project(tmp_path / "c", {"chains": {"polygon": {}}})))
    assert first == again
    assert changed != first


def test_without_a_project_the_configmaps_are_empty() -> None:
    objects = _render(None)
    assert _get(objects, "ConfigMap", "sphinx-api-deployment")["data"] == {}


def _pod_keys(objects: list[dict[str, Any]]) -> dict[str, str]:
    data = _get(objects, "Secret", "sphinx-api-env")["stringData"]
    return {k: v.source for k, v in data.items() if isinstance(v, SecretValue)}


@pytest.mark.parametrize("env", ["mainnet", "testnet"])
def test_outside_local_the_deployer_key_never_reaches_a_pod(env: str) -> None:
    keys = _pod_keys(_render(None, env))
    assert "deployer.private_key" not in keys.values()
    assert "SPHINX_API_SIGNER_KEY" not in keys
    config = _get(_render(None, env), "ConfigMap", "sphinx-api-config")["data"][f"{env}.yaml"]
    assert DEPLOYER_KEY not in config
    assert "deployer:" not in config


def test_a_configured_guardian_and_minter_key_come_from_the_secret(tmp_path: Path) -> None:
    from sphinxctl.settings import load_settings
    from tests.support.infra_env import ENVIRON

    config_dir = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", config_dir)
    text = (config_dir / "mainnet.yaml").read_text()
    keys_yaml = "\napi:\n  signer_key: ${SPHINX_GUARDIAN_KEY}\n  minter_key: ${SPHINX_MINTER_KEY}\n"
    (config_dir / "mainnet.yaml").write_text(text.replace("\napi:\n", keys_yaml, 1))
    environ = {**ENVIRON, "SPHINX_GUARDIAN_KEY": KEY, "SPHINX_MINTER_KEY": KEY}
    settings = load_settings("mainnet", config_dir, environ=environ).settings
    sources = Sources(
        ROOT / "manifests", ROOT / "alert_rules", ROOT / "manifests/grafana/dashboards", None
    )
    objects = render_objects(settings, sources)
    keys = _pod_keys(objects)
    assert keys["SPHINX_API_SIGNER_KEY"] == "api.signer_key"
    assert keys["SPHINX_API_MINTER_KEY"] == "api.minter_key"
    config = _get(objects, "ConfigMap", "sphinx-api-config")["data"]["mainnet.yaml"]
    assert "${SPHINX_API_SIGNER_KEY}" in config
    assert KEY not in config


def test_the_local_pod_signs_with_the_devnet_deployer_key() -> None:
    keys = _pod_keys(_render(None, "local"))
    assert keys["SPHINX_API_SIGNER_KEY"] == "deployer.private_key"


def test_alert_rules_reach_prometheus_and_exporters_are_deployed() -> None:
    objects = _render(None)
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert {"alertmanager", "postgres-exporter", "redis-exporter", "kube-state-metrics"} <= names
