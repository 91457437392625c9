"""Render the stack of one environment from manifests/ and settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sphinxctl.errors import ConfigError
from sphinxctl.infra.applyset import PART_OF_LABEL, applyset_id
from sphinxctl.infra.models import LintFinding, ObjectRef, RenderResult
from sphinxctl.infra.order import CLUSTER_SCOPED, install_sorted
from sphinxctl.infra.secret_values import annotate_sources, redact
from sphinxctl.infra.template import load_templates, render_template
from sphinxctl.infra.values import PART_OF, values_for

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

MANAGED_BY = "sphinxctl"
ENV_LABEL = "sphinxctl.io/environment"


@dataclass(frozen=True)
class Sources:
    """Where the templates, alert rules and dashboards are read from."""

    manifests_dir: Path
    alert_rules_dir: Path
    dashboards_dir: Path
    project_root: Path | None = None

    @classmethod
    def under(cls, project_root: Path, manifests_dir: Path | None = None) -> Sources:
        """The project's layout: manifests/, alert_rules/, manifests/grafana/dashboards/."""
        manifests = manifests_dir or project_root / "manifests"
        return cls(
            manifests_dir=manifests,
            alert_rules_dir=project_root / "alert_rules",
            dashboards_dir=project_root / "manifests" / "grafana" / "dashboards",
            project_root=project_root,
        )


def render_objects(settings: Settings, sources: Sources) -> list[dict[str, Any]]:
    """Every object of the stack, in install order, Secret values as SecretValue markers."""
    values = values_for(
        settings, sources.alert_rules_dir, sources.dashboards_dir, sources.project_root
    )
    namespace = settings.kubernetes.namespace
    part_of = applyset_id(namespace)
    objects: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str | None]] = set()
    for template in load_templates(sources.manifests_dir):
        for obj in render_template(template, values):
            ref = ObjectRef.of(obj)
            _check_scope(obj, ref, namespace, template.path)
            key = (ref.kind, ref.name, ref.namespace)
            if key in seen:
                raise ConfigError(
                    f"{template.path}: {ref.label} is defined twice in the manifests",
                    reference="infra-template",
                )
            seen.add(key)
            labels = obj["metadata"].setdefault("labels", {})
            labels.setdefault("app.kubernetes.io/part-of", PART_OF)
            labels["app.kubernetes.io/managed-by"] = MANAGED_BY
            labels[ENV_LABEL] = settings.environment
            labels[PART_OF_LABEL] = part_of
            objects.append(annotate_sources(obj))
    return install_sorted(objects)


def _check_scope(obj: dict[str, Any], ref: ObjectRef, namespace: str, path: Path) -> None:
    if not ref.name:
        raise ConfigError(f"{path}: a {ref.kind} has no metadata.name", reference="infra-template")
    if ref.kind in CLUSTER_SCOPED:
        if ref.namespace:
            raise ConfigError(
                f"{path}: {ref.label} is cluster-scoped and must not set metadata.namespace",
                reference="infra-template",
            )
    elif ref.namespace != namespace:
        raise ConfigError(
            f"{path}: {ref.label} must be in namespace {namespace!r} (use ${{namespace}})",
            reference="infra-template",
        )


def render(settings: Settings, sources: Sources, *, lint: bool = False) -> RenderResult:
    """The rendered stack with Secret values redacted, plus lint findings when asked."""
    objects = render_objects(settings, sources)
    findings: list[LintFinding] = []
    if lint:
        from sphinxctl.infra.lint import lint_objects

        findings = lint_objects(objects)
    return RenderResult(
        environment=settings.environment,
        namespace=settings.kubernetes.namespace,
        objects=[redact(o) for o in objects],
        findings=findings,
    )


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML of (redacted) objects, as `kubectl apply -f` reads it."""
    return str(yaml.safe_dump_all([redact(o) for o in objects], sort_keys=False, width=100))
