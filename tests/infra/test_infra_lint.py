"""Readiness lints: each rule fires on the mistake it names, and stays quiet on the stack."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from sphinxctl.infra.lint import lint_objects
from sphinxctl.infra.render import Sources, render_objects
from tests.support.infra_env import ROOT, settings_for

Objects = list[dict[str, Any]]
_CLEAN = render_objects(settings_for("mainnet"), Sources.under(ROOT))


def _find(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _api_container(objects: Objects) -> dict[str, Any]:
    return _find(objects, "Deployment", "sphinx-api")["spec"]["template"]["spec"]["containers"][0]


def _drop_resources(o: Objects) -> None:
    del _api_container(o)["resources"]["limits"]


def _drop_probe(o: Objects) -> None:
    del _api_container(o)["readinessProbe"]


def _latest(o: Objects) -> None:
    _api_container(o)["image"] = "ghcr.io/sphinx/api:latest"


def _untagged(o: Objects) -> None:
    _find(o, "StatefulSet", "redis")["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "registry:5000/redis"
    )


def _root(o: Objects) -> None:
    _api_container(o)["securityContext"]["runAsNonRoot"] = False
    _find(o, "Deployment", "sphinx-api")["spec"]["template"]["spec"]["securityContext"].pop(
        "runAsNonRoot"
    )


def _writable_root(o: Objects) -> None:
    del _api_container(o)["securityContext"]["readOnlyRootFilesystem"]


def _pdb_too_high(o: Objects) -> None:
    _find(o, "PodDisruptionBudget", "sphinx-api")["spec"]["minAvailable"] = 10


def _replicas_with_hpa(o: Objects) -> None:
    _find(o, "Deployment", "sphinx-api")["spec"]["replicas"] = 3


def _uncovered_pod(o: Objects) -> None:
    o[:] = [
        x
        for x in o
        if not (
            x["kind"] == "NetworkPolicy"
            and x["metadata"]["name"] in ("default-deny", "allow-dns", "redis")
        )
    ]


def _host_without_tls(o: Objects) -> None:
    ingress = _find(o, "Ingress", "sphinx-api")
    rule = copy.deepcopy(ingress["spec"]["rules"][0])
    rule["host"] = "admin.sphinx.example"
    ingress["spec"]["rules"].append(rule)


def _no_pdb(o: Objects) -> None:
    o[:] = [
        x
        for x in o
        if not (x["kind"] == "PodDisruptionBudget" and x["metadata"]["name"] == "sphinx-api")
    ]


def _service_selects_nothing(o: Objects) -> None:
    _find(o, "Service", "redis")["spec"]["selector"] = {"app.kubernetes.io/name": "redis-typo"}


CASES: list[tuple[str, Callable[[Objects], None], str, str | None]] = [
    ("container-resources", _drop_resources, "Deployment/sphinx/sphinx-api", "api"),
    ("container-probes", _drop_probe, "Deployment/sphinx/sphinx-api", "api"),
    ("image-tag", _latest, "Deployment/sphinx/sphinx-api", "api"),
    ("image-tag", _untagged, "StatefulSet/sphinx/redis", "redis"),
    ("run-as-non-root", _root, "Deployment/sphinx/sphinx-api", "api"),
    ("read-only-root-filesystem", _writable_root, "Deployment/sphinx/sphinx-api", "api"),
    ("pdb-vs-hpa", _pdb_too_high, "PodDisruptionBudget/sphinx/sphinx-api", None),
    ("hpa-replicas", _replicas_with_hpa, "Deployment/sphinx/sphinx-api", None),
    ("networkpolicy-coverage", _uncovered_pod, "StatefulSet/sphinx/redis", None),
    ("ingress-tls", _host_without_tls, "Ingress/sphinx/sphinx-api", None),
    ("pdb-missing", _no_pdb, "Deployment/sphinx/sphinx-api", None),
    ("service-selector", _service_selects_nothing, "Service/sphinx/redis", None),
]


def test_the_rendered_stack_has_no_lint_error() -> None:
    assert [f for f in lint_objects(_CLEAN) if f.severity == "error"] == []


@pytest.mark.parametrize(
    ("rule", "mutate", "where", "container"), CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES]
)
def test_each_rule_fires_on_its_mistake(
    rule: str, mutate: Callable[[Objects], None], where: str, container: str | None
) -> None:
    objects = copy.deepcopy(_CLEAN)
    mutate(objects)
    findings = [f for f in lint_objects(objects) if f.severity == "error"]
    assert any(
        f.rule == rule and f.object == where and f.container == container for f in findings
    ), findings
    assert {f.rule for f in findings} == {rule}


def test_percentage_pdb_is_weighed_against_the_hpa_minimum() -> None:
    objects = copy.deepcopy(_CLEAN)
    _find(objects, "PodDisruptionBudget", "sphinx-api")["spec"]["minAvailable"] = "100%"
    assert any(f.rule == "pdb-vs-hpa" for f in lint_objects(objects))
    _find(objects, "PodDisruptionBudget", "sphinx-api")["spec"]["minAvailable"] = "80%"
    assert not any(f.rule == "pdb-vs-hpa" for f in lint_objects(objects))


def test_digest_pinned_images_pass_and_jobs_need_no_probes() -> None:
    objects = copy.deepcopy(_CLEAN)
    _api_container(objects)["image"] = "ghcr.io/sphinx/api@sha256:" + "ab" * 32
    cron = _find(objects, "CronJob", "postgres-backup")
    assert (
        "livenessProbe"
        not in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    )
    assert [f for f in lint_objects(objects) if f.severity == "error"] == []


def test_findings_carry_everything_a_checklist_needs() -> None:
    objects = copy.deepcopy(_CLEAN)
    _latest(objects)
    finding = next(f for f in lint_objects(objects) if f.rule == "image-tag")
    assert finding.model_dump() == {
        "rule": "image-tag",
        "severity": "error",
        "object": "Deployment/sphinx/sphinx-api",
        "container": "api",
        "message": "image 'ghcr.io/sphinx/api:latest' uses the moving :latest",
    }
