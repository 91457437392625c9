"""The one adapter to the official `kubernetes` client (DynamicClient, server-side apply).

Every request goes through `_call`: 5xx, 429 and 409 answers and dropped connections are
retried with bounded exponential backoff; anything else, or the last failure, becomes a
KubernetesError whose text never carries a secret value.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from sphinxctl.errors import KubernetesError
from sphinxctl.infra.api_errors import ApiAnswer, api_error
from sphinxctl.infra.applyset import FIELD_MANAGER

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: `attempts` tries, delays base*2^n capped at max_delay."""

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        wanted: float = self.base_delay * (2 ** (attempt - 1)) * random.uniform(0.75, 1.0)
        if retry_after is not None:
            wanted = max(wanted, retry_after)
        return min(wanted, self.max_delay)


class KubeApi:
    """A connection to one cluster: get, list, server-side apply, delete."""

    def __init__(
        self,
        api_client: Any,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        secrets: list[str] | None = None,
        request_timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        self._api_client = api_client
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._secrets = list(secrets or [])
        self._timeout = request_timeout
        self._cache_dir = tempfile.mkdtemp(prefix="sphinxctl-discovery-")
        self._dynamic: Any = None
        self.host: str = str(api_client.configuration.host)

    @classmethod
    def connect(cls, kubeconfig: Path | None, context: str | None, **kwargs: Any) -> KubeApi:
        """A client from a kubeconfig file and context, like kubectl (defaults: $KUBECONFIG or
        ~/.kube/config, and its current context)."""
        import yaml
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException

        try:
            api_client = config.new_client_from_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                context=context,
                persist_config=False,
            )
        except (ConfigException, OSError, TypeError, ValueError, yaml.YAMLError) as exc:
            where = str(kubeconfig) if kubeconfig else "the default kubeconfig"
            raise KubernetesError(
                f"cannot load {where}"
                + (f" (context {context!r})" if context else "")
                + f": {exc}",
                hint="set kubernetes.kubeconfig / kubernetes.context in the environment file, "
                "or pass --kubeconfig / --context",
                reference="kubeconfig-invalid",
            ) from None
        return cls(api_client, **kwargs)

    def add_secrets(self, values: list[str]) -> None:
        """Values to scrub from any error text."""
        self._secrets.extend(values)

    def close(self) -> None:
        self._api_client.close()
        shutil.rmtree(self._cache_dir, ignore_errors=True)

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- discovery ------------------------------------------------------------------------

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            cache = str(Path(self._cache_dir) / "discovery.json")
            self._dynamic = self._call(
                "discover the API", lambda: DynamicClient(self._api_client, cache_file=cache)
            )
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self._call(
                f"discover {api_version} {kind}",
                lambda: self.dynamic.resources.get(api_version=api_version, kind=kind),
            )
        except ResourceNotFoundError:
            raise KubernetesError(
                f"the cluster at {self.host} does not serve {api_version} {kind}",
                hint="check the Kubernetes version of the cluster (1.29 or newer is expected)",
                reference="kubernetes-unknown-kind",
            ) from None

    def api_version_of(self, group: str, kind: str) -> str:
        """The preferred apiVersion the cluster serves `kind` of `group` under."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            found = self._call(
                f"discover {kind}.{group}",
                lambda: self.dynamic.resources.search(group=group or None, kind=kind),
            )
        except ResourceNotFoundError:
            found = []
        found = [r for r in found if getattr(r, "kind", None) == kind and r.group == group]
        if not found:
            raise KubernetesError(
                f"the cluster at {self.host} does not serve {kind}.{group}",
                reference="kubernetes-unknown-kind",
            )
        preferred = [r for r in found if r.preferred] or found
        return str(preferred[0].group_version)

    # -- requests --------------------------------------------------------------------------

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        resource = self.resource(api_version, kind)
        ns = namespace if resource.namespaced else None
        return self._call(
            f"get {kind} {self._where(name, ns)}",
            lambda: cast(
                "dict[str, Any] | None",
                _to_dict(resource.get(name=name, namespace=ns, _request_timeout=self._timeout)),
            ),
            missing_ok=True,
        )

    def list(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str | None
    ) -> list[dict[str, Any]]:
        resource = self.resource(api_version, kind)
        ns = namespace if resource.namespaced else None

        def run() -> list[dict[str, Any]]:
            found = resource.get(
                namespace=ns, label_selector=label_selector, _request_timeout=self._timeout
            )
            body = _to_dict(found) or {}
            items = body.get("items") or []
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
            return list(items)

        return self._call(f"list {kind} in {ns or 'the cluster'}", run)

    def apply(
        self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False
    ) -> dict[str, Any]:
        """Server-side apply of `obj` (fieldManager sphinxctl, fieldValidation Strict); with
        `force`, fields another manager owns are taken over instead of refused."""
        meta = obj["metadata"]
        resource = self.resource(obj["apiVersion"], obj["kind"])
        ns = meta.get("namespace") if resource.namespaced else None

        def run() -> dict[str, Any]:
            result = resource.server_side_apply(
                body=obj,
                name=meta["name"],
                namespace=ns,
                field_manager=FIELD_MANAGER,
                dry_run="All" if dry_run else None,
                force_conflicts=force or None,
                query_params=[("fieldValidation", "Strict")],
                _request_timeout=self._timeout,
            )
            return _to_dict(result) or {}

        verb = "dry-run apply" if dry_run else "apply"
        return self._call(f"{verb} {obj['kind']} {self._where(meta['name'], ns)}", run)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> bool:
        """Delete (background propagation); False when the object was already gone."""
        resource = self.resource(api_version, kind)
        ns = namespace if resource.namespaced else None
        done = self._call(
            f"delete {kind} {self._where(name, ns)}",
            lambda: resource.delete(
                name=name,
                namespace=ns,
                propagation_policy="Background",
                _request_timeout=self._timeout,
            ),
            missing_ok=True,
        )
        return done is not None

    def merge_patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """JSON merge patch (an Update, so it never takes fields an apply owns)."""
        resource = self.resource(api_version, kind)
        ns = namespace if resource.namespaced else None
        return self._call(
            f"patch {kind} {self._where(name, ns)}",
            lambda: (
                _to_dict(
                    resource.patch(
                        body=patch,
                        name=name,
                        namespace=ns,
                        content_type="application/merge-patch+json",
                        field_manager=FIELD_MANAGER,
                        _request_timeout=self._timeout,
                    )
                )
                or {}
            ),
        )

    # -- errors and retries ----------------------------------------------------------------

    @staticmethod
    def _where(name: str, namespace: str | None) -> str:
        return f"{namespace}/{name}" if namespace else name

    def _call(self, what: str, fn: Callable[[], T], *, missing_ok: bool = False) -> T:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except ApiException as exc:
                answer = ApiAnswer.of(exc)
                if answer.status == 404 and missing_ok:
                    return None  # type: ignore[return-value]
                if answer.retryable and attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt, answer.retry_after))
                    continue
                raise api_error(what, answer, attempt, self._secrets) from None
            except (HTTPError, ConnectionError, TimeoutError) as exc:
                tls = _tls_failure(exc)
                if tls is not None:
                    raise KubernetesError(
                        f"TLS with the Kubernetes API at {self.host} failed to {what}: {tls}",
                        hint="the kubeconfig's certificate-authority does not match the "
                        "server's certificate, or the server address is not the one the "
                        "certificate names; check the cluster entry of the kubeconfig",
                        reference="kubernetes-tls",
                    ) from None
                if attempt < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt))
                    continue
                raise KubernetesError(
                    f"cannot reach the Kubernetes API at {self.host} to {what} "
                    f"(after {attempt} attempts): {type(exc).__name__}",
                    hint="check that the cluster is up and that the kubeconfig context "
                    "points at it (`--kubeconfig`, `--context`)",
                    reference="kubernetes-unreachable",
                    details={"attempts": attempt},
                ) from None


def _to_dict(found: Any) -> Any:
    if found is None:
        return None
    if hasattr(found, "to_dict"):
        return found.to_dict()
    if isinstance(found, str):
        return json.loads(found) if found.strip() else {}
    return found


def _tls_failure(exc: BaseException) -> str | None:
    """The TLS error inside a urllib3 failure, if that is what it is (never worth a retry)."""
    import ssl

    from urllib3.exceptions import MaxRetryError, SSLError

    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, (SSLError, ssl.SSLError)):
            text = str(seen)
            match = re.search(r"\[SSL: ([A-Z_]+)\] ([^(]+)", text)
            return f"{match.group(2).strip()} ({match.group(1)})" if match else text[:200]
        seen = seen.reason if isinstance(seen, MaxRetryError) else seen.__cause__
    return None
