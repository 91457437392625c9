"""A Kubernetes API test server speaking the real REST protocol over HTTP on loopback.

Enough of the API for the official `kubernetes` client's DynamicClient: /version, /api,
/apis and per-group resource lists (discovery), get/list (label and field selectors),
create, PATCH with application/apply-patch+yaml (server-side apply, see k8s_store) and
application/merge-patch+json, delete, dryRun=All, fieldValidation=Strict (checked with
kubernetes-validate's strict schemas), bearer-token auth, Status bodies for 4xx/5xx, and
fault injection. Tests make workloads ready with `mark_ready()` or `auto_ready_after`.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.support.k8s_store import PREFERRED, RESOURCE_TYPES, ApiError, ResourceType, Store

KUBERNETES_VERSION = "1.31.0"


@dataclass
class Fault:
    status: int
    method: str | None
    path_contains: str | None
    times: int
    retry_after: float | None = None
    message: str | None = None
    hits: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: str = ""


@dataclass
class _State:
    store: Store = field(default_factory=Store)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    token: str = "test-token"
    strict_validation: bool = True


def parse_selector(text: str) -> list[tuple[str, str, list[str]]]:
    """Label selector terms: (key, op, values) with op in = != exists !exists in notin."""
    terms = []
    for part in re.findall(r"(?:[^,(]|\([^)]*\))+", text or ""):
        part = part.strip()
        if not part:
            continue
        match = re.match(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$", part)
        if match:
            values = [v.strip() for v in match.group(3).split(",")]
            terms.append((match.group(1), match.group(2), values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            terms.append((key.strip(), "!=", [value.strip()]))
        elif "=" in part:
            key, value = part.replace("==", "=").split("=", 1)
            terms.append((key.strip(), "=", [value.strip()]))
        elif part.startswith("!"):
            terms.append((part[1:], "!exists", []))
        else:
            terms.append((part, "exists", []))
    return terms


def selector_matches(terms: list[tuple[str, str, list[str]]], labels: dict[str, str]) -> bool:
    for key, op, values in terms:
        present = key in labels
        if op == "=" and labels.get(key) != values[0]:
            return False
        if op == "!=" and labels.get(key) == values[0]:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op == "in" and labels.get(key) not in values:
            return False
        if op == "notin" and present and labels[key] in values:
            return False
    return True


def _schema_dir() -> Path:
    import kubernetes_validate

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return base / f"v{KUBERNETES_VERSION}-local-strict"


@functools.cache
def _validator(kind: str, api_version: str) -> Any:
    """kubernetes-validate's strict schema for one kind, compiled once (loading the shared
    definitions for every request would cost more than the rest of the server together)."""
    import jsonschema
    from referencing import Registry, Resource

    name = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _schema_dir() / f"{kind.lower()}-{name}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    registry = Registry().with_resources(
        [
            (schema["$id"], Resource.from_contents(schema)),
            ("https://kubernetes.io/api/_definitions.json", _definitions()),
        ]
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


@functools.cache
def _definitions() -> Any:
    from referencing import Resource

    return Resource.from_contents(json.loads((_schema_dir() / "_definitions.json").read_text()))


def _strict_errors(body: dict) -> tuple[int, str] | None:
    """(status, message) when the body breaks the schema: unknown fields are 400 (strict
    decoding), other schema violations 422 (invalid), as the API server answers."""
    validator = _validator(str(body.get("kind")), str(body.get("apiVersion")))
    if validator is None:
        return None
    error = next(iter(validator.iter_errors(body)), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        return 400, f"strict decoding error: {error.message} at .{where}"
    return 422, f"{body.get('kind')} is invalid: .{where}: {error.message}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, delayed ACKs add 40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _status(self, err: ApiError, headers: dict[str, str] | None = None) -> None:
        self._send(
            err.code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": err.message,
                "reason": err.reason,
                "details": err.details,
                "code": err.code,
            },
            headers,
        )

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        content_type = self.headers.get("Content-Type", "")
        state = self.state
        with state.store.lock:
            state.requests.append(Request(method, url.path, query, content_type, raw))
            fault = next(
                (
                    f
                    for f in state.faults
                    if f.times > 0
                    and (f.method is None or f.method == method)
                    and (f.path_contains is None or f.path_contains in url.path)
                ),
                None,
            )
            if fault:
                fault.times -= 1
                fault.hits += 1
        if self.headers.get("Authorization") != f"Bearer {state.token}":
            return self._status(ApiError(401, "Unauthorized", "Unauthorized"))
        if fault:
            reasons = {
                409: "Conflict",
                429: "TooManyRequests",
                500: "InternalError",
                503: "ServiceUnavailable",
                504: "Timeout",
            }
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return self._status(
                ApiError(
                    fault.status,
                    reasons.get(fault.status, "Unknown"),
                    fault.message or f"injected fault {fault.status}",
                ),
                headers,
            )
        try:
            code, body = self._route(method, url.path, query, content_type, raw)
        except ApiError as err:
            return self._status(err)
        except Exception as exc:  # a bug in the test server: say so instead of hanging up
            return self._status(ApiError(500, "InternalError", f"test server bug: {exc!r}"))
        self._send(code, body)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- routing ---------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, str], content_type: str, raw: str
    ) -> tuple[int, Any]:
        if method == "GET":
            discovery = _discovery(path)
            if discovery is not None:
                return 200, discovery
        rt, namespace, name = _resolve(path)
        store = self.state.store
        dry_run = query.get("dryRun") == "All"
        if method == "GET" and name:
            return 200, store.get(rt, namespace or "", name)
        if method == "GET":
            items = store.list_objects(rt, namespace)
            terms = parse_selector(query.get("labelSelector", ""))
            items = [i for i in items if selector_matches(terms, i["metadata"].get("labels") or {})]
            field_sel = query.get("fieldSelector", "")
            if field_sel.startswith("metadata.name="):
                items = [i for i in items if i["metadata"]["name"] == field_sel.split("=", 1)[1]]
            return 200, {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(store.resource_version)},
                "items": items,
            }
        if method == "DELETE" and name:
            gone = store.delete(rt, namespace or "", name, dry_run=dry_run)
            return 200, {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "kind": rt.plural, "uid": gone["metadata"].get("uid")},
            }
        body = self._body(raw, content_type)
        if method == "POST" and not name:
            obj_name = (body.get("metadata") or {}).get("name", "")
            try:
                store.get(rt, namespace or "", obj_name)
            except ApiError:
                pass
            else:
                raise ApiError(409, "AlreadyExists", f'{rt.plural} "{obj_name}" already exists')
            self._check(rt, body, obj_name, query)
            obj, _ = store.apply(
                rt,
                namespace or "",
                obj_name,
                body,
                query.get("fieldManager", "unknown"),
                force=True,
                dry_run=dry_run,
                operation="Apply",
            )
            return 201, obj
        if method == "PATCH" and name:
            if content_type.startswith("application/apply-patch"):
                manager = query.get("fieldManager")
                if not manager:
                    raise ApiError(400, "BadRequest", "fieldManager is required for apply")
                self._check(rt, body, name, query)
                obj, code = store.apply(
                    rt,
                    namespace or "",
                    name,
                    body,
                    manager,
                    force=query.get("force") in ("true", "True"),
                    dry_run=dry_run,
                )
                return code, obj
            if content_type.startswith("application/merge-patch"):
                obj, code = store.apply(
                    rt,
                    namespace or "",
                    name,
                    body,
                    query.get("fieldManager", "kubectl-edit"),
                    force=True,
                    dry_run=dry_run,
                    operation="Update",
                )
                return code, obj
            raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type}")
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {path}")

    @staticmethod
    def _body(raw: str, content_type: str) -> dict:
        try:
            body = json.loads(raw or "{}")  # the client sends JSON, which is YAML too
        except ValueError:
            try:
                body = yaml.safe_load(raw) if "yaml" in content_type else None
            except yaml.YAMLError as exc:
                raise ApiError(400, "BadRequest", f"cannot decode body: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "body must be an object")
        return body

    def _check(self, rt: ResourceType, body: dict, name: str, query: dict[str, str]) -> None:
        if body.get("kind") != rt.kind or body.get("apiVersion") != rt.api_version:
            raise ApiError(
                400,
                "BadRequest",
                f"body is {body.get('apiVersion')} {body.get('kind')}, "
                f"the URL names {rt.api_version} {rt.kind}",
            )
        if (body.get("metadata") or {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        if query.get("fieldValidation") == "Strict" and self.state.strict_validation:
            problem = _strict_errors(body)
            if problem:
                code, message = problem
                raise ApiError(code, "BadRequest" if code == 400 else "Invalid", message)


def _discovery(path: str) -> Any:
    path = path.rstrip("/")
    if path == "/version":
        major, minor, _ = KUBERNETES_VERSION.split(".")
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{KUBERNETES_VERSION}",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        groups: dict[str, list[str]] = {}
        for rt in RESOURCE_TYPES:
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                    "preferredVersion": {
                        "groupVersion": f"{g}/{PREFERRED.get(g, vs[0])}",
                        "version": PREFERRED.get(g, vs[0]),
                    },
                }
                for g, vs in groups.items()
            ],
        }
    match = re.fullmatch(r"/api/(v1)|/apis/([^/]+)/([^/]+)", path)
    if not match:
        return None
    group, version = ("", "v1") if match.group(1) else (match.group(2), match.group(3))
    types = [r for r in RESOURCE_TYPES if r.group == group and r.version == version]
    if not types:
        raise ApiError(404, "NotFound", f"the server could not find {path}")
    verbs = ["create", "delete", "get", "list", "patch", "update"]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": verbs,
            }
            for r in types
        ],
    }


def _resolve(path: str) -> tuple[ResourceType, str | None, str | None]:
    match = re.fullmatch(r"/api/v1/(.*)|/apis/([^/]+)/([^/]+)/(.*)", path.rstrip("/"))
    if not match:
        raise ApiError(404, "NotFound", f"the server could not find {path}")
    if match.group(1) is not None:
        group, version, rest = "", "v1", match.group(1)
    else:
        group, version, rest = match.group(2), match.group(3), match.group(4)
    parts = rest.split("/")
    namespace = None
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    plural, name = parts[0], (parts[1] if len(parts) > 1 else None)
    for rt in RESOURCE_TYPES:
        if (rt.group, rt.version, rt.plural) == (group, version, plural):
            if rt.namespaced and namespace is None and name is not None:
                raise ApiError(404, "NotFound", f"{plural} must be addressed in a namespace")
            return rt, namespace, name
    raise ApiError(404, "NotFound", f"the server could not find the resource {plural}")


class KubeApiServer:
    """The server on 127.0.0.1:<free port>, in a thread. Use as a context manager."""

    def __init__(self, *, token: str = "test-token", strict_validation: bool = True) -> None:
        self.state = _State(token=token, strict_validation=strict_validation)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        storage = next(r for r in RESOURCE_TYPES if r.kind == "StorageClass")
        self.store.put_raw(
            storage,
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": "standard"},
                "provisioner": "test.local/hostpath",
                "volumeBindingMode": "Immediate",
            },
        )

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[Request]:
        return self.state.requests

    def start(self) -> KubeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, *, context: str = "test") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": self.state.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    def inject(
        self,
        status: int,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests with `status` (a Status body)."""
        fault = Fault(status, method, path_contains, times, retry_after, message)
        with self.store.lock:
            self.state.faults.append(fault)
        return fault

    def mark_ready(self, kind: str | None = None) -> None:
        self.store.mark_ready(kind)

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict]:
        with self.store.lock:
            return [
                e.obj
                for (_, _, ns, _), e in sorted(self.store.entries.items())
                if (kind is None or e.obj.get("kind") == kind)
                and (namespace is None or ns == namespace)
            ]

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return next(
            (o for o in self.objects(kind, namespace) if o["metadata"]["name"] == name), None
        )
