"""Render command results: machine formats to stdout, tables through rich."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.cli.context import CliState

REDACTED = "********"


def to_jsonable(data: Any) -> Any:
    """Pydantic models, paths and secrets to plain JSON types; secrets become `********`."""
    from pydantic import BaseModel, SecretBytes, SecretStr

    if isinstance(data, BaseModel):
        return {
            name: to_jsonable(getattr(data, name))
            for name in type(data).model_fields
            if not name.startswith("_")
        }
    if isinstance(data, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(data, Enum):  # before str/int: a StrEnum would reach YAML as an object
        return to_jsonable(data.value)
    if isinstance(data, dict):
        return {str(k): to_jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in data]
    if isinstance(data, str | int | float | bool) or data is None:
        return data
    if isinstance(data, bytes):
        return "0x" + data.hex()
    return str(data)


def dump(data: Any, fmt: str) -> str:
    """JSON or YAML text of `data` (secrets redacted)."""
    plain = to_jsonable(data)
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True))
    return json.dumps(plain, indent=2) + "\n"


def emit(
    state: CliState,
    data: Any,
    table: Callable[[], RenderableType] | None = None,
) -> None:
    """Print a command's result in the format the operator chose.

    `table` builds the human rendering; without it, table output falls back to YAML text.
    """
    if state.output in ("json", "yaml"):
        state.write(dump(data, state.output))
        return
    if state.output != "table":
        state.require_output("table", "json", "yaml")
    if table is None:
        state.write(dump(data, "yaml"))
        return
    state.out.print(table())
