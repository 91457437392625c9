"""Readiness lints on rendered objects, in the spirit of kube-score and Polaris.

`lint_objects` takes plain object dicts (rendered or read back from a cluster) and returns
findings; `infra render --lint` prints them and the mainnet checklist reuses them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from sphinxctl.infra.models import LintFinding, ObjectRef, Severity

_WORKLOADS_WITH_PROBES = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


def lint_objects(objects: list[dict[str, Any]]) -> list[LintFinding]:
    """Every finding on `objects`, errors first."""
    findings: list[LintFinding] = []
    pods = list(_pod_templates(objects))
    for obj, pod in pods:
        findings.extend(_lint_pod(obj, pod))
    findings.extend(_lint_network_policies(objects, pods))
    findings.extend(_lint_autoscaling(objects, pods))
    findings.extend(_lint_ingresses(objects))
    findings.extend(_lint_services(objects, pods))
    return sorted(findings, key=lambda f: (f.severity != "error", f.object, f.rule))


def _finding(
    rule: str, severity: Severity, obj: dict[str, Any], message: str, container: str | None = None
) -> LintFinding:
    return LintFinding(
        rule=rule,
        severity=severity,
        object=ObjectRef.of(obj).label,
        container=container,
        message=message,
    )


def _pod_templates(
    objects: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(owner object, pod template {metadata, spec}) for every object that runs pods."""
    for obj in objects:
        kind = obj.get("kind")
        spec = obj.get("spec") or {}
        if kind == "Pod":
            yield obj, {"metadata": obj.get("metadata") or {}, "spec": spec}
        elif kind == "CronJob":
            template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
            if template:
                yield obj, template
        elif (kind in _WORKLOADS_WITH_PROBES or kind == "Job") and spec.get("template"):
            yield obj, spec["template"]


def _pod_labels(pod: dict[str, Any]) -> dict[str, str]:
    return dict((pod.get("metadata") or {}).get("labels") or {})


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set; {} matches all."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _lint_pod(obj: dict[str, Any], pod: dict[str, Any]) -> Iterator[LintFinding]:
    spec = pod.get("spec") or {}
    pod_security = spec.get("securityContext") or {}
    long_running = obj.get("kind") in _WORKLOADS_WITH_PROBES
    for container in spec.get("containers") or []:
        name = container.get("name")
        yield from _lint_container(obj, container, pod_security, long_running, name)
    for container in spec.get("initContainers") or []:
        yield from _lint_container(obj, container, pod_security, False, container.get("name"))


def _lint_container(
    obj: dict[str, Any],
    container: dict[str, Any],
    pod_security: dict[str, Any],
    long_running: bool,
    name: str | None,
) -> Iterator[LintFinding]:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for kind, got in (("requests", requests), ("limits", limits)):
        missing = [r for r in ("cpu", "memory") if r not in got]
        if missing:
            yield _finding(
                "container-resources",
                "error",
                obj,
                f"no {kind} for {', '.join(missing)}",
                name,
            )
    if long_running:
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                yield _finding("container-probes", "error", obj, f"no {probe}", name)
        live, ready = container.get("livenessProbe"), container.get("readinessProbe")
        if live and ready and live == ready:
            yield _finding(
                "container-probes-identical",
                "warning",
                obj,
                "liveness and readiness probes are identical: a slow dependency restarts pods",
                name,
            )
    yield from _lint_image(obj, str(container.get("image") or ""), name)
    security = container.get("securityContext") or {}
    non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    user = security.get("runAsUser", pod_security.get("runAsUser"))
    if non_root is not True or user == 0:
        yield _finding("run-as-non-root", "error", obj, "runAsNonRoot is not true", name)
    if security.get("readOnlyRootFilesystem") is not True:
        yield _finding(
            "read-only-root-filesystem", "error", obj, "readOnlyRootFilesystem is not true", name
        )
    if security.get("allowPrivilegeEscalation") is not False or security.get("privileged"):
        yield _finding(
            "privilege-escalation", "error", obj, "allowPrivilegeEscalation is not false", name
        )
    dropped = [c.upper() for c in ((security.get("capabilities") or {}).get("drop") or [])]
    if "ALL" not in dropped:
        yield _finding("capabilities", "warning", obj, "capabilities are not dropped (ALL)", name)


_OWN_COMPONENT = "api"  # the platform's own image (sphinx-api, its migration Job)
_ENV_LABEL = "sphinxctl.io/environment"


def _lint_image(obj: dict[str, Any], image: str, name: str | None) -> Iterator[LintFinding]:
    if "@sha256:" in image:
        return
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag:
        yield _finding("image-tag", "error", obj, f"image {image!r} has no tag or digest", name)
        return
    if tag == "latest":
        yield _finding("image-tag", "error", obj, f"image {image!r} uses the moving :latest", name)
        return
    labels = (obj.get("metadata") or {}).get("labels") or {}
    env = labels.get(_ENV_LABEL)
    if labels.get("app.kubernetes.io/component") == _OWN_COMPONENT and env not in (None, "local"):
        yield _finding(
            "api-image-digest",
            "error",
            obj,
            f"the API image {image!r} is not referenced by digest in {env}: set "
            "SPHINX_API_IMAGE=<repo>@sha256:<digest> (docs/POD_CONTRACT.md)",
            name,
        )


def _lint_network_policies(
    objects: list[dict[str, Any]], pods: list[tuple[dict[str, Any], dict[str, Any]]]
) -> Iterator[LintFinding]:
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    for obj, pod in pods:
        labels = _pod_labels(pod)
        namespace = (obj.get("metadata") or {}).get("namespace")
        covered: set[str] = set()
        specific = False
        for policy in policies:
            if (policy.get("metadata") or {}).get("namespace") != namespace:
                continue
            spec = policy.get("spec") or {}
            selector = spec.get("podSelector")
            if not selector_matches(selector, labels):
                continue
            types = spec.get("policyTypes") or ["Ingress"]
            covered.update(types)
            specific = specific or bool(selector)
        for direction in ("Ingress", "Egress"):
            if direction not in covered:
                yield _finding(
                    "networkpolicy-coverage",
                    "error",
                    obj,
                    f"pods are not selected by any NetworkPolicy for {direction}",
                )
        if covered and not specific:
            yield _finding(
                "networkpolicy-specific",
                "warning",
                obj,
                "pods are only covered by namespace-wide policies; none allows their traffic",
            )


def _min_available(pdb: dict[str, Any], replicas: int) -> int | None:
    spec = pdb.get("spec") or {}
    if "minAvailable" in spec:
        value = spec["minAvailable"]
        if isinstance(value, str) and value.endswith("%"):
            return math.ceil(int(value[:-1]) * replicas / 100)
        return int(value)
    if "maxUnavailable" in spec:
        value = spec["maxUnavailable"]
        if isinstance(value, str) and value.endswith("%"):
            return replicas - math.floor(int(value[:-1]) * replicas / 100)
        return replicas - int(value)
    return None


def _lint_autoscaling(
    objects: list[dict[str, Any]], pods: list[tuple[dict[str, Any], dict[str, Any]]]
) -> Iterator[LintFinding]:
    pdbs = [o for o in objects if o.get("kind") == "PodDisruptionBudget"]
    by_ref = {(o.get("kind"), (o.get("metadata") or {}).get("name")): (o, p) for o, p in pods}
    for hpa in (o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"):
        spec = hpa.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 0))
        if low > high:
            yield _finding("hpa-bounds", "error", hpa, f"minReplicas {low} > maxReplicas {high}")
        found = by_ref.get((target.get("kind"), target.get("name")))
        if found is None:
            yield _finding("hpa-target", "error", hpa, f"scale target {target} is not rendered")
            continue
        workload, pod = found
        if "replicas" in (workload.get("spec") or {}):
            yield _finding(
                "hpa-replicas",
                "error",
                workload,
                "sets spec.replicas while a HorizontalPodAutoscaler scales it: every apply "
                "would reset the replica count",
            )
        if not (pod.get("spec") or {}).get("topologySpreadConstraints") and not (
            (pod.get("spec") or {}).get("affinity") or {}
        ).get("podAntiAffinity"):
            yield _finding(
                "pod-spread", "warning", workload, "no topology spread or pod anti-affinity"
            )
        matching = [
            p
            for p in pdbs
            if selector_matches((p.get("spec") or {}).get("selector"), _pod_labels(pod))
        ]
        if not matching:
            yield _finding(
                "pdb-missing", "error", workload, "scaled by an HPA but has no PodDisruptionBudget"
            )
        for pdb in matching:
            available = _min_available(pdb, low)
            if available is not None and available >= low:
                yield _finding(
                    "pdb-vs-hpa",
                    "error",
                    pdb,
                    f"keeps {available} pods available while the HPA minimum is {low}: "
                    "node drains would block",
                )


def _lint_ingresses(objects: list[dict[str, Any]]) -> Iterator[LintFinding]:
    for ingress in (o for o in objects if o.get("kind") == "Ingress"):
        spec = ingress.get("spec") or {}
        tls_hosts: set[str] = set()
        for entry in spec.get("tls") or []:
            if not entry.get("secretName"):
                yield _finding("ingress-tls", "error", ingress, "a tls entry has no secretName")
            tls_hosts.update(entry.get("hosts") or [])
        hosts = [r.get("host") for r in spec.get("rules") or []]
        if not hosts or None in hosts:
            yield _finding("ingress-tls", "error", ingress, "a rule has no host, so no TLS")
        for host in hosts:
            if host and host not in tls_hosts:
                yield _finding(
                    "ingress-tls", "error", ingress, f"host {host} is served without TLS"
                )
        annotations = (ingress.get("metadata") or {}).get("annotations") or {}
        if not any(k.startswith("cert-manager.io/") for k in annotations):
            yield _finding(
                "ingress-issuer", "warning", ingress, "no cert-manager issuer annotation"
            )


def _lint_services(
    objects: list[dict[str, Any]], pods: list[tuple[dict[str, Any], dict[str, Any]]]
) -> Iterator[LintFinding]:
    for service in (o for o in objects if o.get("kind") == "Service"):
        selector = (service.get("spec") or {}).get("selector")
        if not selector:
            continue
        if not any(selector_matches({"matchLabels": selector}, _pod_labels(p)) for _, p in pods):
            yield _finding("service-selector", "error", service, "selects no rendered pods")
