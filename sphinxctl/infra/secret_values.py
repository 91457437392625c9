"""Secret values in rendered objects: placeholders until apply time, redacted everywhere else.

A rendered Secret holds `SecretValue(source)` markers, never a value. `reveal` swaps them for
the values settings hold (from the environment) just before a request is sent; `redact` turns
them into `********` for render, diff, revision and log output. Each Secret carries an
annotation naming the source of every key, so a revision (stored redacted) can be re-applied
with the values of the environment at rollback time.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from sphinxctl.errors import ConfigError
from sphinxctl.infra.alerting import CONFIG_SOURCE, alertmanager_text

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

REDACTED = "********"
SOURCES_ANNOTATION = "sphinxctl.io/secret-sources"
OPTIONAL_SOURCES = frozenset({"api.sentry_dsn"})


@dataclass(frozen=True)
class SecretValue:
    """Where a Secret key's value comes from (a settings path); holds no value itself."""

    source: str

    def __repr__(self) -> str:
        return f"SecretValue({self.source!r})"


def secret_sources(settings: Settings) -> dict[str, SecretStr | None]:
    """Every secret the stack may use, by source name."""
    out: dict[str, SecretStr | None] = {
        "database.url": settings.database.url,
        "redis.url": settings.redis.url,
        "api.sentry_dsn": settings.api.sentry_dsn,
        "monitoring.grafana_admin_password": settings.monitoring.grafana_admin_password,
        "api.signer_key": settings.api.signer_key,
        "api.minter_key": settings.api.minter_key,
        "deployer.private_key": settings.deployer.private_key,
        "monitoring.receivers.webhook_url": settings.monitoring.receivers.webhook_url,
        "monitoring.receivers.pagerduty_routing_key": (
            settings.monitoring.receivers.pagerduty_routing_key
        ),
        "monitoring.receivers.slack_api_url": settings.monitoring.receivers.slack_api_url,
        "database.url#exporter": _exporter_dsn(settings.database.url),
        CONFIG_SOURCE: SecretStr(alertmanager_text(settings, reveal=True)),
    }
    for part, value in _postgres_parts(settings.database.url).items():
        out[f"database.url#{part}"] = value
    for key in settings.auth.keys:
        out[f"auth.keys[{key.kid}].secret"] = key.secret
    for name, chain in settings.chains.items():
        for index, url in enumerate(chain.rpc_urls):
            out[f"chains.{name}.rpc_urls[{index}]"] = SecretStr(url)
    return out


def _exporter_dsn(url: SecretStr | None) -> SecretStr | None:
    """database.url as postgres_exporter reads it (libpq URL, no SQLAlchemy driver suffix)."""
    if url is None:
        return None
    split = urlsplit(url.get_secret_value())
    if not split.scheme.startswith("postgres"):
        return None
    return SecretStr(split._replace(scheme="postgresql").geturl())


def _postgres_parts(url: SecretStr | None) -> dict[str, SecretStr | None]:
    parts: dict[str, SecretStr | None] = {"user": None, "password": None, "dbname": None}
    if url is None:
        return parts
    split = urlsplit(url.get_secret_value())
    if not split.scheme.startswith("postgres"):
        return parts
    if split.username:
        parts["user"] = SecretStr(unquote(split.username))
    if split.password:
        parts["password"] = SecretStr(unquote(split.password))
    dbname = split.path.lstrip("/")
    if dbname:
        parts["dbname"] = SecretStr(unquote(dbname))
    return parts


def redact(obj: Any) -> Any:
    """A deep copy with every SecretValue replaced by `********`."""
    if isinstance(obj, SecretValue):
        return REDACTED
    if isinstance(obj, dict):
        return {k: redact(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def used_sources(objects: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, SecretValue):
            found.add(node.source)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for obj in objects:
        walk(obj)
    return found


def reveal(objects: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """Deep copies with real values in place of SecretValues (for the request body only).

    Raises ConfigError naming every required secret that settings do not hold.
    """
    sources = secret_sources(settings)
    missing = sorted(
        s for s in used_sources(objects) if sources.get(s) is None and s not in OPTIONAL_SOURCES
    )
    if missing:
        raise ConfigError(
            f"secrets needed by the stack are not set in environment "
            f"{settings.environment!r}: {', '.join(missing)}",
            hint="export the variables environments/<env>.yaml reads for these keys "
            "(database.url must be a postgresql:// URL with user, password and database)",
            reference="infra-secret-missing",
            details={"missing": missing},
        )

    def swap(node: Any) -> Any:
        if isinstance(node, SecretValue):
            value = sources.get(node.source)
            return "" if value is None else value.get_secret_value()
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    return [swap(obj) for obj in objects]


def secret_strings(settings: Settings) -> list[str]:
    """The secret values themselves, for scrubbing error text (a database's user and name are
    not secret and would blank out ordinary words such as the namespace)."""
    return [
        value.get_secret_value()
        for source, value in secret_sources(settings).items()
        if value is not None and not source.endswith(("#user", "#dbname"))
    ]


def scrub(text: str, values: list[str]) -> str:
    """`text` with every occurrence of a known secret value replaced by `********`."""
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text


def annotate_sources(obj: dict[str, Any]) -> dict[str, Any]:
    """Record on a Secret which source feeds each key (used to rehydrate revisions)."""
    if obj.get("kind") != "Secret":
        return obj
    data = obj.get("stringData") or {}
    sources = {k: v.source for k, v in data.items() if isinstance(v, SecretValue)}
    if sources:
        annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[SOURCES_ANNOTATION] = json.dumps(sources, sort_keys=True)
    return obj


def rehydrate(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Redacted objects (from a revision) with SecretValue markers back in place."""
    out = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        annotation = (obj.get("metadata") or {}).get("annotations", {}).get(SOURCES_ANNOTATION)
        if obj.get("kind") == "Secret" and annotation:
            data = obj.setdefault("stringData", {})
            for key, source in json.loads(annotation).items():
                data[key] = SecretValue(str(source))
        out.append(obj)
    return out
