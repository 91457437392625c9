"""Load `environments/<env>.yaml`: parse, substitute `${VAR}`, apply overrides, validate.

Every failure becomes a ConfigError naming the file, the key path, the line where YAML gives
one, and what to do. Nothing else in sphinxctl reads os.environ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sphinxctl.errors import ConfigError, MissingVariableError
from sphinxctl.settings.model import ENV_PREFIX, Settings

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

KeyPath = tuple[str | int, ...]


class MissingVariable(BaseModel):
    """A `${VAR}` reference whose variable is unset (reported by lenient loads)."""

    variable: str
    key_path: str
    line: int | None = None


class LoadedSettings(BaseModel):
    """Settings plus where they came from and what was missing (lenient loads only)."""

    model_config = {"arbitrary_types_allowed": True}

    settings: Settings
    path: Path
    missing: list[MissingVariable] = []


def env_file(config_dir: Path, env: str) -> Path:
    if not _ENV_NAME.match(env):
        raise ConfigError(
            f"invalid environment name {env!r}",
            hint="environment names are lowercase letters, digits and dashes",
        )
    return config_dir / f"{env}.yaml"


def load_settings(
    env: str,
    config_dir: Path,
    *,
    strict: bool = True,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Load and validate one environment.

    strict: an unset `${VAR}` without default is an error. Lenient loads substitute an empty
    string and list the variable in `missing` (the checklist reports them as failures, `serve`
    names them on /health/ready); when the file then fails validation, the ConfigError's
    `details["missing"]` lists them.
    """
    environ = os.environ if environ is None else environ
    path = env_file(config_dir, env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        available = sorted(p.stem for p in config_dir.glob("*.yaml")) if config_dir.is_dir() else []
        raise ConfigError(
            f"no configuration for environment {env!r}: {path} does not exist",
            hint=(
                f"available environments in {config_dir}: {', '.join(available)}"
                if available
                else "pass --config-dir pointing at the project's environments/ directory"
            ),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None

    data, lines = _parse_yaml(text, path)
    missing: list[MissingVariable] = []
    data = _substitute(data, (), environ, missing, lines)
    if missing and strict:
        first = missing[0]
        where = _where(path, first.key_path, first.line)
        names = ", ".join(sorted({m.variable for m in missing}))
        raise MissingVariableError(
            f"{where}: environment variable {first.variable} is not set"
            + (f" (all unset: {names})" if len(missing) > 1 else ""),
            hint=f"export {first.variable}=... before running, or give a default "
            f"in the file as ${{{first.variable}:-value}}",
            details={"file": str(path), "variables": sorted({m.variable for m in missing})},
        )
    if isinstance(data, dict) and "environment" not in data:
        data["environment"] = env
    overrides = {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    try:
        settings = _validate(data, path, lines, overrides)
    except ConfigError as exc:
        # A lenient load that failed because of what was missing says what was missing:
        # `serve` names it on /health/ready instead of exiting.
        exc.details["missing"] = [m.model_dump() for m in missing]
        raise
    if settings.environment != env:
        raise ConfigError(
            f"{path}: `environment: {settings.environment}` does not match the file's name {env!r}",
            hint="an environment file must be named after the environment it describes",
        )
    return LoadedSettings(settings=settings, path=path, missing=missing)


def _parse_yaml(text: str, path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}:{line} malformed YAML: {problem}",
            hint="fix the YAML syntax at that position (indentation, quotes, colons)",
            reference="config-malformed-yaml",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, not {type(data).__name__}",
            hint="start the file with sections such as `chains:` and `contracts:`",
        )
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"{path}: top-level key {key!r} must be a string")
    return data, lines


def _collect_lines(node: yaml.Node, prefix: KeyPath, out: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*prefix, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*prefix, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[(*prefix, index)] = item.start_mark.line + 1
            _collect_lines(item, (*prefix, index), out)


def _substitute(
    value: Any,
    at: KeyPath,
    environ: Mapping[str, str],
    missing: list[MissingVariable],
    lines: dict[KeyPath, int],
) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*at, k), environ, missing, lines) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*at, i), environ, missing, lines) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        missing.append(
            MissingVariable(variable=name, key_path=_dotted(at), line=_line_of(lines, at))
        )
        return ""

    return _VAR.sub(replace, value)


def _validate(
    data: dict[str, Any], path: Path, lines: dict[KeyPath, int], overrides: Mapping[str, str]
) -> Settings:
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            key = _dotted(loc) or "(top level)"
            env_name = ENV_PREFIX + "__".join(str(p).upper() for p in loc)
            source = f" (from {env_name})" if env_name in overrides else ""
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (typo? see `sphinxctl config show` for the known keys)"
            problems.append(f"{_where(path, key, _line_of(lines, loc))}{source}: {msg}")
        more = len(exc.errors()) - len(problems)
        text = "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
        raise ConfigError(
            f"invalid configuration: {text}",
            details={"file": str(path), "errors": len(exc.errors())},
        ) from None
    except ValueError as exc:  # env-var override source failed to parse its JSON value
        raise ConfigError(f"{path}: invalid environment override: {exc}") from None


def _line_of(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _dotted(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _where(path: Path, key: str, line: int | None) -> str:
    return f"{path}{f':{line}' if line else ''} {key}"
