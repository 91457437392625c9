"""The values manifest templates see, computed from one environment's settings."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import SecretStr

from sphinxctl.infra import pod_files
from sphinxctl.infra.alerting import alertmanager_text
from sphinxctl.infra.image import api_image
from sphinxctl.infra.secret_values import SecretValue

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

PART_OF = "sphinx"
API_NAME = "sphinx-api"
CONFIG_DIR_IN_POD = "/etc/sphinx/environments"


def pdb_min_available(hpa_min: int) -> int:
    """Below the HPA minimum, so a node drain can always evict at least one API pod."""
    return max(0, hpa_min - max(1, hpa_min // 5))


def values_for(
    settings: Settings,
    alert_rules_dir: Path,
    dashboards_dir: Path,
    project_root: Path | None = None,
) -> dict[str, Any]:
    """Every `${name}` the templates may use (deployment record and ABIs from `project_root`)."""
    k8s = settings.kubernetes
    mon = settings.monitoring
    res = k8s.resources
    namespace = k8s.namespace
    config_text, api_env = pod_config(settings)
    config_files = {f"{settings.environment}.yaml": config_text}
    deployment = pod_files.deployment_files(project_root, settings.environment)
    artifacts = pod_files.artifact_files(project_root)
    metrics_port = settings.api.metrics_port or settings.api.port
    image = api_image(settings, project_root)
    return {
        "environment": settings.environment,
        "namespace": namespace,
        "part_of": PART_OF,
        "api_name": API_NAME,
        "api_image": image,
        "api_port": settings.api.port,
        "metrics_port": metrics_port,
        "api_config_dir": CONFIG_DIR_IN_POD,
        "api_container_ports": _container_ports(settings.api.port, metrics_port),
        "api_service_ports": _service_ports(settings.api.port, metrics_port),
        "api_config": config_files,
        "api_deployment": deployment,
        "api_artifacts": artifacts,
        "api_deployments_dir": pod_files.DEPLOYMENTS_IN_POD,
        "api_artifacts_dir": pod_files.ARTIFACTS_IN_POD,
        "api_config_checksum": pod_files.checksum(config_files, deployment, artifacts),
        "api_release": pod_files.checksum({"image": image}, config_files)[:10],
        "api_secret_env": api_env,
        "api_resources": {
            "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
            "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
        },
        "hpa_min": k8s.hpa_min_replicas,
        "hpa_max": k8s.hpa_max_replicas,
        "hpa_cpu_percent": k8s.hpa_cpu_target_percent,
        "pdb_min_available": pdb_min_available(k8s.hpa_min_replicas),
        "domain": k8s.domain,
        "tls_issuer": k8s.tls_issuer,
        "tls_secret": f"{API_NAME}-tls",
        "ingress_class": k8s.ingress_class,
        "postgres_image": k8s.postgres_image,
        "postgres_storage": k8s.postgres_storage,
        "storage_class": k8s.storage_class,
        "redis_image": k8s.redis_image,
        "backup_schedule": k8s.backup_schedule,
        "backup_retention_days": k8s.backup_retention_days,
        "backup_storage": k8s.postgres_storage,
        "prometheus_image": mon.prometheus_image,
        "prometheus_retention": mon.retention,
        "prometheus_config": {
            "prometheus.yml": prometheus_config(
                namespace, metrics_port, mon.scrape_interval, mon.evaluation_interval
            )
        },
        "alertmanager_image": mon.alertmanager_image,
        "alertmanager_config_checksum": hashlib.sha256(
            alertmanager_text(settings).encode()
        ).hexdigest(),
        "postgres_exporter_image": mon.postgres_exporter_image,
        "redis_exporter_image": mon.redis_exporter_image,
        "kube_state_metrics_image": mon.kube_state_metrics_image,
        "prometheus_rules": read_files(alert_rules_dir, "*.yaml"),
        "grafana_image": mon.grafana_image,
        "grafana_datasources": {"prometheus.yaml": grafana_datasource(namespace)},
        "grafana_dashboard_provider": {"dashboards.yaml": GRAFANA_PROVIDER},
        "grafana_dashboards": read_files(dashboards_dir, "*.json"),
    }


def _container_ports(port: int, metrics_port: int) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    if metrics_port != port:
        ports.append({"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"})
    return ports


def _service_ports(port: int, metrics_port: int) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    if metrics_port != port:
        ports.append(
            {"name": "metrics", "port": metrics_port, "targetPort": "metrics", "protocol": "TCP"}
        )
    return ports


def read_files(directory: Path, pattern: str) -> dict[str, str]:
    """File name -> text of every matching file directly in `directory` (empty if absent)."""
    if not directory.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob(pattern))}


def _upper(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def pod_config(settings: Settings) -> tuple[str, dict[str, SecretValue]]:
    """The environment file the API pods load, and the Secret env vars it reads.

    Secrets become `${VAR}` references filled from the Secret; the deployer section is left
    out, the signing keys of `pod_files.signing_keys` travel through the Secret, and any other
    secret field is dropped.
    """
    env: dict[str, SecretValue] = {
        "SPHINX_DATABASE_URL": SecretValue("database.url"),
        "SPHINX_REDIS_URL": SecretValue("redis.url"),
        "SPHINX_SENTRY_DSN": SecretValue("api.sentry_dsn"),
    }
    data = _plain(settings.model_dump(mode="python", exclude={"deployer"}))
    data["api"].update(host="0.0.0.0", sentry_dsn="${SPHINX_SENTRY_DSN:-}")
    keys = pod_files.signing_keys(settings)
    env.update(keys)
    for field, name in (("signer_key", pod_files.SIGNER_ENV), ("minter_key", pod_files.MINTER_ENV)):
        data["api"][field] = "${" + name + "}" if name in keys else None
    data["database"]["url"] = "${SPHINX_DATABASE_URL}"
    data["redis"]["url"] = "${SPHINX_REDIS_URL}"
    for chain, chain_data in data["chains"].items():
        # RPC URLs often embed a provider API key: they travel through the Secret too.
        urls = []
        for index, _ in enumerate(chain_data["rpc_urls"]):
            name = f"SPHINX_RPC_{_upper(chain)}_{index}"
            env[name] = SecretValue(f"chains.{chain}.rpc_urls[{index}]")
            urls.append("${" + name + "}")
        chain_data["rpc_urls"] = urls
    for key in data["auth"]["keys"]:
        if key.get("algorithm") == "HS256":
            name = "SPHINX_AUTH_KEY_" + _upper(key["kid"])
            env[name] = SecretValue(f"auth.keys[{key['kid']}].secret")
            key["secret"] = "${" + name + "}"
    text = "# Generated by `sphinxctl infra` from environments/*.yaml; secrets come from\n"
    text += "# the Secret sphinx-api-env as environment variables.\n"
    text += yaml.safe_dump(data, sort_keys=False)
    return text, env


def _plain(node: Any) -> Any:
    """Settings dump as plain YAML types; secret values are dropped (never written)."""
    if isinstance(node, SecretStr):
        return None
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    if isinstance(node, Path):
        return str(node)
    return node


def _pod_job(job: str, namespace: str, app: str, port: str) -> dict[str, Any]:
    """A scrape job over the namespace's pods named `app`, on their container port `port`."""
    return {
        "job_name": job,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                "regex": app,
                "action": "keep",
            },
            {
                "source_labels": [f"__meta_kubernetes_pod_container_port_{_PORT_META[port]}"],
                "regex": port,
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        ],
    }


_PORT_META = {"metrics": "name"}


def prometheus_config(
    namespace: str, metrics_port: int, interval: str, evaluation_interval: str | None = None
) -> str:
    """Scrape the API pods, the exporters and kube-state-metrics; alerts go to Alertmanager."""
    api_job = _pod_job("sphinx-api", namespace, API_NAME, "metrics")
    api_job["relabel_configs"][1] = {
        "source_labels": ["__meta_kubernetes_pod_container_port_number"],
        "regex": str(metrics_port),
        "action": "keep",
    }
    config = {
        "global": {
            "scrape_interval": interval,
            "evaluation_interval": evaluation_interval or interval,
        },
        "rule_files": ["/etc/prometheus/rules/*.yaml"],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"alertmanager.{namespace}.svc:9093"]}]}
            ]
        },
        "scrape_configs": [
            api_job,
            _pod_job("postgres", namespace, "postgres-exporter", "metrics"),
            _pod_job("redis", namespace, "redis-exporter", "metrics"),
            _pod_job("kube-state-metrics", namespace, "kube-state-metrics", "metrics"),
            {
                "job_name": "alertmanager",
                "static_configs": [{"targets": [f"alertmanager.{namespace}.svc:9093"]}],
            },
            {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
        ],
    }
    return str(yaml.safe_dump(config, sort_keys=False))


def grafana_datasource(namespace: str) -> str:
    source = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prometheus",
                "type": "prometheus",
                "access": "proxy",
                "url": f"http://prometheus.{namespace}.svc:9090",
                "isDefault": True,
            }
        ],
    }
    return str(yaml.safe_dump(source, sort_keys=False))


GRAFANA_PROVIDER = """apiVersion: 1
providers:
  - name: sphinx
    folder: Sphinx
    type: file
    disableDeletion: true
    options:
      path: /var/lib/grafana/dashboards
"""
