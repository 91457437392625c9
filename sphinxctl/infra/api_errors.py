"""What an answer of the Kubernetes API server means for sphinxctl: retry it, or turn it into
one clear error. The texts matched here are the real kube-apiserver's (1.3x):

- an apply with fieldValidation=Strict naming an unknown field is an HTTP **500**
  ("failed to create typed patch object ... field not declared in schema"), a fault of the
  manifest, never retried;
- a server-side apply conflict is a 409 "Apply failed with N conflict(s)", which no retry
  resolves (unlike the 409 "the object has been modified" of a concurrent update);
- a change to an immutable field is a 422 "... field is immutable" (a StatefulSet says
  "Forbidden: updates to statefulset spec for fields other than ...");
- a create in a namespace being deleted is a 403 with cause NamespaceTerminating, which is
  not an RBAC problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sphinxctl.errors import KubernetesError, ManifestRejected
from sphinxctl.infra.secret_values import scrub

RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
_UNKNOWN_FIELD = re.compile(
    r"(?:(\.[\w.\[\]=\"/-]+): field not declared in schema|unknown field \"([^\"]+)\")"
)


@dataclass
class ApiAnswer:
    """An error answer of the API server: HTTP status and its Status body."""

    status: int
    reason: str
    message: str
    causes: list[dict[str, Any]] = field(default_factory=list)
    retry_after: float | None = None

    @classmethod
    def of(cls, exc: Any) -> ApiAnswer:
        body = getattr(exc, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        reason = str(parsed.get("reason") or getattr(exc, "reason", "") or "")
        message = str(parsed.get("message") or (body or "")[:200] or reason)
        causes = list((parsed.get("details") or {}).get("causes") or [])
        headers = getattr(exc, "headers", None) or {}
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        try:
            retry_after = float(value) if value is not None else None
        except ValueError:
            retry_after = None
        return cls(int(getattr(exc, "status", 0) or 0), reason, message, causes, retry_after)

    @property
    def unknown_fields(self) -> list[str]:
        found = [a or b for a, b in _UNKNOWN_FIELD.findall(self.message)]
        return list(dict.fromkeys(found))

    @property
    def is_apply_conflict(self) -> bool:
        return self.status == 409 and self.message.startswith("Apply failed with")

    @property
    def is_immutable(self) -> bool:
        return self.status == 422 and (
            "immutable" in self.message or "Forbidden: updates to" in self.message
        )

    @property
    def namespace_terminating(self) -> bool:
        return self.status == 403 and (
            any(c.get("reason") == "NamespaceTerminating" for c in self.causes)
            or "because it is being terminated" in self.message
        )

    @property
    def retryable(self) -> bool:
        if self.unknown_fields or self.is_apply_conflict:
            return False
        return self.status in RETRY_STATUSES


def api_error(what: str, answer: ApiAnswer, attempts: int, secrets: list[str]) -> KubernetesError:
    """One clear, scrubbed error for a failed request."""
    status, reason = answer.status, answer.reason
    details = {"status": status, "reason": reason, "attempts": attempts}
    if answer.unknown_fields:
        fields = ", ".join(answer.unknown_fields)
        return ManifestRejected(
            scrub(f"{what}: the server's schema has no field {fields}", secrets),
            hint="remove or rename that key in the manifest template that renders this "
            "object (manifests/); `sphinxctl infra render --lint` checks templates offline",
            reference="manifest-unknown-field",
            details={**details, "fields": answer.unknown_fields},
        )
    text = scrub(f"{what} failed: HTTP {status} {reason}: {answer.message}", secrets)
    if attempts > 1:
        text += f" (after {attempts} attempts)"
    if answer.is_immutable:
        return ManifestRejected(
            text,
            hint="the change touches a field Kubernetes never changes in place; run "
            "`sphinxctl infra up --recreate` to delete and re-create the object (its pods "
            "restart; volumes stay), or revert the change",
            reference="kubernetes-immutable-field",
            details=details,
        )
    if answer.namespace_terminating:
        return KubernetesError(
            text,
            hint="the namespace is still being deleted (a previous `infra down "
            "--delete-namespace`); wait until it is gone, or pass --wait to `infra up`",
            reference="namespace-terminating",
            details=details,
        )
    hints = {
        401: "the cluster refused the kubeconfig's credentials: the client certificate or "
        "token is expired, revoked or not signed by this cluster's CA",
        403: "the kubeconfig user lacks RBAC permission for this; ask a cluster admin",
        409: "another field manager owns these fields: `sphinxctl infra diff` shows them; "
        "`sphinxctl infra up --force-conflicts` takes them over",
        400: "the server rejected the object: fix the manifest template in manifests/",
        422: "the server rejected the object as invalid: fix the manifest template",
    }
    hint = hints.get(status)
    if (status >= 500 or status == 429) and not answer.is_apply_conflict:
        hint = "the API server kept failing; try again later or check its health"
    if status == 409 and not answer.is_apply_conflict:
        hint = "the object kept changing under concurrent updates; try again"
    return KubernetesError(
        text,
        hint=hint,
        reference="kubernetes-conflict" if status == 409 else "kubernetes-api-error",
        details=details,
    )
