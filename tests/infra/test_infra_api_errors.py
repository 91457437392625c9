"""How answers of the real kube-apiserver (texts copied from v1.35) are classified: retried,
or one clear error with the right reference and exit code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sphinxctl.errors import ExitCode, ManifestRejected
from sphinxctl.infra.api_errors import ApiAnswer, api_error


class FakeApiException:
    """Stands in for kubernetes.client.ApiException: a status and a Status body."""

    def __init__(self, status: int, message: str, reason: str = "", **details: Any) -> None:
        self.status = status
        self.reason = reason
        self.headers: dict[str, str] = {}
        body = {"kind": "Status", "message": message, "reason": reason, "code": status}
        if details:
            body["details"] = details
        self.body = json.dumps(body).encode()


UNKNOWN = (
    "failed to create typed patch object (ns/redis; apps/v1, Kind=StatefulSet): "
    ".spec.replicaCount: field not declared in schema"
)


def test_an_unknown_field_500_is_a_manifest_error_naming_the_field_never_retried() -> None:
    answer = ApiAnswer.of(FakeApiException(500, UNKNOWN, "InternalError"))
    assert not answer.retryable and answer.unknown_fields == [".spec.replicaCount"]
    err = api_error("apply StatefulSet ns/redis", answer, 1, [])
    assert isinstance(err, ManifestRejected) and err.exit_code == ExitCode.USAGE
    assert err.message == (
        "apply StatefulSet ns/redis: the server's schema has no field .spec.replicaCount"
    )


@pytest.mark.parametrize(
    ("status", "message", "retryable"),
    [
        (409, 'Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.x', False),
        (409, "Operation cannot be fulfilled on x: the object has been modified", True),
        (500, "etcdserver: request timed out", True),
        (503, "service unavailable", True),
        (422, 'Deployment.apps "a" is invalid: spec.selector: field is immutable', False),
    ],
)
def test_only_faults_a_retry_can_fix_are_retried(
    status: int, message: str, retryable: bool
) -> None:
    assert ApiAnswer.of(FakeApiException(status, message)).retryable is retryable


def test_immutable_and_terminating_namespace_get_their_own_reference_and_hint() -> None:
    sts = (
        'StatefulSet.apps "redis" is invalid: spec: Forbidden: updates to statefulset spec '
        "for fields other than 'replicas', 'template' are forbidden"
    )
    err = api_error("apply StatefulSet ns/redis", ApiAnswer.of(FakeApiException(422, sts)), 1, [])
    assert err.reference == "kubernetes-immutable-field" and "--recreate" in (err.hint or "")
    terminating = FakeApiException(
        403,
        'secrets "a" is forbidden: unable to create new content in namespace ns because it '
        "is being terminated",
        "Forbidden",
        causes=[{"reason": "NamespaceTerminating"}],
    )
    err = api_error("apply Secret ns/a", ApiAnswer.of(terminating), 1, [])
    assert err.reference == "namespace-terminating" and "RBAC" not in (err.hint or "")
    forbidden = FakeApiException(403, 'User "viewer" cannot patch resource', "Forbidden")
    err = api_error("apply Secret ns/a", ApiAnswer.of(forbidden), 1, [])
    assert "RBAC" in (err.hint or "") and err.exit_code == ExitCode.KUBERNETES
