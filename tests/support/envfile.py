"""Edit a project's environment file in tests (YAML in, YAML out; `${VAR}` strings kept)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def edit_env(project: Path, env: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = project / "environments" / f"{env}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
