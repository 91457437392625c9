"""Manifest templates: YAML files whose string values may hold `${name}` placeholders.

Substitution happens on the parsed YAML, never on text, so a value can never inject
structure. A string that is exactly one placeholder takes the value's type (number, mapping,
list; `None` removes the key); a placeholder inside a longer string is formatted into it.
`${name|str}` keeps a number a string (environment variable values); `${secret:SOURCE}`
becomes a SecretValue marker (see secret_values).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sphinxctl.errors import ConfigError
from sphinxctl.infra.secret_values import SecretValue

_WHOLE = re.compile(r"^\$\{([A-Za-z0-9_.:#\[\]-]+)(\|str)?\}$")
_INNER = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")
_DROP = object()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it


class Template:
    """One manifest file: its path and its parsed documents."""

    def __init__(self, path: Path, documents: list[Any]) -> None:
        self.path = path
        self.documents = documents


def load_templates(directory: Path) -> list[Template]:
    """Every `*.yaml` directly in `directory`, in name order."""
    if not directory.is_dir():
        raise ConfigError(
            f"manifest templates directory {directory} does not exist",
            hint="run from the project root or pass --manifests-dir",
            reference="infra-template",
        )
    templates = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
            docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d]
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{path}: malformed YAML: {exc}", reference="infra-template"
            ) from None
        templates.append(Template(path, docs))
    return templates


def render_template(template: Template, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's documents with every placeholder substituted."""
    out = []
    for index, doc in enumerate(template.documents):
        result = _substitute(doc, values, f"{template.path.name}[{index}]")
        if not isinstance(result, dict) or "kind" not in result:
            raise ConfigError(
                f"{template.path}: document {index} is not a Kubernetes object",
                reference="infra-template",
            )
        out.append(result)
    return out


def _lookup(name: str, values: dict[str, Any], where: str) -> Any:
    if name.startswith("secret:"):
        return SecretValue(name.removeprefix("secret:"))
    if name not in values:
        raise ConfigError(
            f"manifest template {where} uses unknown value ${{{name}}}",
            hint=f"known values: {', '.join(sorted(values))}",
            reference="infra-template",
        )
    return values[name]


def _substitute(node: Any, values: dict[str, Any], where: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            result = _substitute(value, values, f"{where}.{key}")
            if result is not _DROP:
                out[key] = result
        return out
    if isinstance(node, list):
        items = [_substitute(v, values, where) for v in node]
        return [v for v in items if v is not _DROP]
    if not isinstance(node, str) or "${" not in node:
        return node
    whole = _WHOLE.match(node)
    if whole:
        value = _lookup(whole.group(1), values, where)
        if value is None:
            return _DROP
        return str(value) if whole.group(2) else value

    def inner(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), values, where)
        if isinstance(value, dict | list | SecretValue) or value is None:
            raise ConfigError(
                f"manifest template {where}: ${{{match.group(1)}}} cannot be part of a string",
                reference="infra-template",
            )
        return str(value)

    return _INNER.sub(inner, node)
