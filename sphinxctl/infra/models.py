"""Results of the infra operations: what the CLI renders and other packages read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning"]
Action = Literal[
    "create", "configure", "unchanged", "prune", "keep", "delete", "absent", "conflict"
]


class ObjectRef(BaseModel):
    """One Kubernetes object by apiVersion, kind, namespace and name."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @property
    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            name=str(meta.get("name", "")),
            namespace=meta.get("namespace"),
        )


class LintFinding(BaseModel):
    """One readiness-lint finding on a rendered object (kube-score / Polaris family)."""

    rule: str
    severity: Severity
    object: str
    container: str | None = None
    message: str


class RenderResult(BaseModel):
    """The stack rendered for one environment; Secret values are redacted."""

    environment: str
    namespace: str
    objects: list[dict[str, Any]]
    findings: list[LintFinding] = []


class ObjectChange(BaseModel):
    """What `up`, `rollback` or `down` did (or would do) to one object."""

    object: str
    action: Action
    detail: str | None = None


class ProgressEvent(BaseModel):
    """A progress report the CLI renders (stderr) while an operation runs."""

    phase: Literal["apply", "prune", "wait", "revision", "delete"]
    object: str | None = None
    message: str
    ready: int | None = None
    total: int | None = None


class UpResult(BaseModel):
    """Outcome of `infra up` / `infra rollback`."""

    environment: str
    namespace: str
    dry_run: bool = False
    revision: int | None = None
    recorded_revision: bool = False
    changes: list[ObjectChange] = []
    waited: bool = False

    @property
    def changed(self) -> bool:
        return any(c.action not in ("unchanged", "keep") for c in self.changes)


class ObjectDiff(BaseModel):
    """Server dry-run versus live state of one object (managedFields ignored)."""

    object: str
    action: Action
    diff: str = ""


class DiffResult(BaseModel):
    environment: str
    namespace: str
    objects: list[ObjectDiff] = []

    @property
    def changed(self) -> bool:
        return any(o.action != "unchanged" for o in self.objects)


class ObjectStatus(BaseModel):
    object: str
    exists: bool
    ready: bool
    detail: str = ""


class StatusResult(BaseModel):
    environment: str
    namespace: str
    server: str
    revision: int | None = None
    objects: list[ObjectStatus] = []

    @property
    def ready(self) -> bool:
        return all(o.ready for o in self.objects)


class RevisionInfo(BaseModel):
    """One recorded `infra up` (stored as a Secret in the namespace, values redacted)."""

    revision: int
    created: str
    status: str
    description: str
    environment: str
    digest: str
    objects: int


class HistoryResult(BaseModel):
    namespace: str
    revisions: list[RevisionInfo] = []
    manifest: list[dict[str, Any]] | None = Field(
        default=None, description="Objects of the revision asked for with --show (redacted)"
    )


class DownResult(BaseModel):
    namespace: str
    changes: list[ObjectChange] = []
