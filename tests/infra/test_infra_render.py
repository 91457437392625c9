"""Rendering the stack: schema-valid for every environment, mainnet's production shape, and
secrets that never reach the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from sphinxctl.cli.render import dump
from sphinxctl.infra.lint import lint_objects, selector_matches
from sphinxctl.infra.render import Sources, render, render_objects, to_yaml
from sphinxctl.infra.secret_values import REDACTED, reveal
from sphinxctl.settings import load_settings
from tests.support.infra_env import ROOT, contains_secret, image_ref, settings_for

KUBERNETES_VERSION = "1.31.0"  # pinned: the oldest version the stack supports
ENVS = ["local", "testnet", "mainnet"]
SOURCES = Sources.under(ROOT)


def _objects(env: str) -> list[dict[str, Any]]:
    return render(settings_for(env), SOURCES).objects


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _pods(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj["kind"] == "CronJob":
            out.append((obj, spec["jobTemplate"]["spec"]["template"]))
        elif "template" in spec:
            out.append((obj, spec["template"]))
    return out


@pytest.mark.parametrize("env", ENVS)
def test_every_rendered_object_validates_strictly_against_pinned_kubernetes(env: str) -> None:
    objects = _objects(env)
    assert len(objects) > 30
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_pinned_kubernetes_version_ships_with_kubernetes_validate() -> None:
    assert KUBERNETES_VERSION in kubernetes_validate.utils.all_versions()


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = _find(_objects("mainnet"), "Deployment", "sphinx-api")
    deployment["spec"]["replicaz"] = 3
    with pytest.raises(kubernetes_validate.utils.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_mainnet_hpa_spans_10_to_50_and_the_pdb_stays_below_its_minimum() -> None:
    objects = _objects("mainnet")
    hpa = _find(objects, "HorizontalPodAutoscaler", "sphinx-api")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (10, 50)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "sphinx-api",
    }
    pdb = _find(objects, "PodDisruptionBudget", "sphinx-api")
    assert isinstance(pdb["spec"]["minAvailable"], int)
    assert 1 <= pdb["spec"]["minAvailable"] < 10


def test_api_deployment_leaves_replicas_to_the_autoscaler() -> None:
    for env in ENVS:
        deployment = _find(_objects(env), "Deployment", "sphinx-api")
        assert "replicas" not in deployment["spec"]


def test_mainnet_api_pods_are_hardened_spread_and_probed_on_health_endpoints() -> None:
    deployment = _find(_objects("mainnet"), "Deployment", "sphinx-api")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["topologySpreadConstraints"]
    assert pod["affinity"]["podAntiAffinity"]
    assert container["image"] == image_ref("0.1.0")
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }


def test_mainnet_every_ingress_host_has_tls_from_the_cert_manager_issuer() -> None:
    ingresses = [o for o in _objects("mainnet") if o["kind"] == "Ingress"]
    assert ingresses
    for ingress in ingresses:
        tls_hosts = {h for entry in ingress["spec"]["tls"] for h in entry["hosts"]}
        assert all(entry["secretName"] for entry in ingress["spec"]["tls"])
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in tls_hosts
        annotations = ingress["metadata"]["annotations"]
        assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert tls_hosts == {"api.sphinx.example"}


def test_mainnet_every_pod_is_selected_by_its_own_network_policies_both_ways() -> None:
    objects = _objects("mainnet")
    policies = [o["spec"] for o in objects if o["kind"] == "NetworkPolicy"]
    default_deny = [p for p in policies if p["podSelector"] == {} and "ingress" not in p]
    assert any(set(p["policyTypes"]) == {"Ingress", "Egress"} for p in default_deny)
    pods = _pods(objects)
    assert {o["metadata"]["name"] for o, _ in pods} >= {
        "sphinx-api",
        "postgres",
        "redis",
        "prometheus",
        "grafana",
        "postgres-backup",
    }
    for owner, pod in pods:
        labels = pod["metadata"]["labels"]
        specific = [
            p for p in policies if p["podSelector"] and selector_matches(p["podSelector"], labels)
        ]
        assert specific, f"{owner['metadata']['name']} has no NetworkPolicy of its own"
        covered = {t for p in specific for t in p["policyTypes"]}
        assert covered == {"Ingress", "Egress"}, owner["metadata"]["name"]


def test_mainnet_no_container_lacks_resources_and_long_running_ones_have_probes() -> None:
    for owner, pod in _pods(_objects("mainnet")):
        for container in pod["spec"]["containers"]:
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}
            assert set(resources["limits"]) == {"cpu", "memory"}
            if owner["kind"] in ("Deployment", "StatefulSet"):
                assert container["livenessProbe"] and container["readinessProbe"]
                assert container["livenessProbe"] != container["readinessProbe"]
            image = container["image"]
            if owner["metadata"]["labels"].get("app.kubernetes.io/component") == "api":
                assert "@sha256:" in image  # the platform's own image: by digest
            else:
                tag = image.rsplit(":", 1)[1]
                assert tag and tag != "latest"


def test_mainnet_render_passes_every_readiness_lint() -> None:
    findings = lint_objects(render_objects(settings_for("mainnet"), SOURCES))
    assert [f for f in findings if f.severity == "error"] == []


@pytest.mark.parametrize("env", ENVS)
def test_secret_values_never_appear_in_rendered_output(env: str) -> None:
    settings = settings_for(env)
    result = render(settings, SOURCES, lint=True)
    local_jwt = "local-development-secret-not-for-production-use"
    for text in (to_yaml(result.objects), dump(result, "json"), dump(result, "yaml")):
        assert contains_secret(text) == []
        assert local_jwt not in text
    secret = _find(result.objects, "Secret", "postgres-credentials")
    assert secret["stringData"] == {
        "POSTGRES_USER": REDACTED,
        "POSTGRES_PASSWORD": REDACTED,
        "POSTGRES_DB": REDACTED,
    }


def test_reveal_puts_the_values_only_into_the_request_bodies() -> None:
    settings = settings_for("mainnet")
    objects = render_objects(settings, SOURCES)
    revealed = reveal(objects, settings)
    credentials = _find(revealed, "Secret", "postgres-credentials")["stringData"]
    assert credentials == {
        "POSTGRES_USER": "sphinx",
        "POSTGRES_PASSWORD": "Zq7-pg-pass-5e1d",
        "POSTGRES_DB": "sphinx",
    }
    env = _find(revealed, "Secret", "sphinx-api-env")["stringData"]
    assert env["SPHINX_AUTH_KEY_MAINNET_1"].startswith("Zq7-jwt-")
    assert "Zq7rpckey0c1d" in env["SPHINX_RPC_ETHEREUM_0"]
    assert contains_secret(json.dumps(objects, default=repr)) == []  # markers, not values


def test_the_api_pods_environment_file_loads_with_the_secret_as_environment(
    tmp_path: Path,
) -> None:
    settings = settings_for("mainnet")
    revealed = reveal(render_objects(settings, SOURCES), settings)
    config = _find(revealed, "ConfigMap", "sphinx-api-config")["data"]
    assert contains_secret(json.dumps(config)) == []
    assert "deployer" not in yaml.safe_load(config["mainnet.yaml"])
    (tmp_path / "mainnet.yaml").write_text(config["mainnet.yaml"])
    environ = _find(revealed, "Secret", "sphinx-api-env")["stringData"]
    loaded = load_settings("mainnet", tmp_path, environ=environ).settings
    assert loaded.auth.keys[0].secret == settings.auth.keys[0].secret
    assert loaded.database.url == settings.database.url
    assert loaded.chains["ethereum"].rpc_urls == settings.chains["ethereum"].rpc_urls
    assert loaded.api.host == "0.0.0.0"
    assert loaded.deployer.private_key is None


def test_alert_rules_and_dashboards_are_read_at_render_time(tmp_path: Path) -> None:
    (tmp_path / "alert_rules").mkdir()
    (tmp_path / "alert_rules" / "extra.yaml").write_text("groups: []\n")
    dashboards = tmp_path / "manifests" / "grafana" / "dashboards"
    dashboards.mkdir(parents=True)
    (dashboards / "api.json").write_text('{"title": "API"}')
    sources = Sources(ROOT / "manifests", tmp_path / "alert_rules", dashboards)
    objects = render(settings_for("testnet"), sources).objects
    assert _find(objects, "ConfigMap", "prometheus-rules")["data"] == {"extra.yaml": "groups: []\n"}
    assert _find(objects, "ConfigMap", "grafana-dashboards")["data"] == {
        "api.json": '{"title": "API"}'
    }
    shipped = _find(_objects("testnet"), "ConfigMap", "prometheus-rules")["data"]
    assert set(shipped) == {p.name for p in (ROOT / "alert_rules").glob("*.yaml")}
    prometheus = yaml.safe_load(
        _find(objects, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
    )
    assert prometheus["rule_files"] == ["/etc/prometheus/rules/*.yaml"]
    assert "sphinx-api" in [job["job_name"] for job in prometheus["scrape_configs"]]


def test_backup_cronjob_follows_the_schedule_and_retention_settings() -> None:
    settings = settings_for("mainnet")
    settings.kubernetes.backup_schedule = "15 2 * * *"
    settings.kubernetes.backup_retention_days = 7
    objects = render(settings, SOURCES).objects
    cron = _find(objects, "CronJob", "postgres-backup")
    assert cron["spec"]["schedule"] == "15 2 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert "pg_dump" in container["args"][0] and "-delete" in container["args"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["RETENTION_DAYS"]["value"] == "7"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "postgres-credentials"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "postgres-backups"
    claim = _find(objects, "PersistentVolumeClaim", "postgres-backups")
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_every_object_carries_the_applyset_and_environment_labels() -> None:
    objects = _objects("testnet")
    ids = {o["metadata"]["labels"]["applyset.kubernetes.io/part-of"] for o in objects}
    assert len(ids) == 1
    assert all(o["metadata"]["labels"]["sphinxctl.io/environment"] == "testnet" for o in objects)
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "Namespace" and kinds[-1] == "Ingress"
    assert (
        kinds.index("Secret") < kinds.index("Deployment") < kinds.index("HorizontalPodAutoscaler")
    )


def test_secret_annotation_names_sources_not_values() -> None:
    secret = _find(_objects("mainnet"), "Secret", "sphinx-api-env")
    sources = json.loads(secret["metadata"]["annotations"]["sphinxctl.io/secret-sources"])
    assert sources["SPHINX_DATABASE_URL"] == "database.url"
    assert sources["SPHINX_AUTH_KEY_MAINNET_1"] == "auth.keys[mainnet-1].secret"
    assert all(v == REDACTED for v in secret["stringData"].values())
    assert "data" not in secret  # values only ever travel as stringData, at apply time
