"""Per-invocation CLI state: global options, lazily loaded settings, the two consoles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from sphinxctl.settings import LoadedSettings, Settings

OutputFormat = Literal["table", "json", "yaml", "junit"]


class Output(StrEnum):
    """The global -o/--output choices."""

    table = "table"
    json = "json"
    yaml = "yaml"
    junit = "junit"


@dataclass
class CliState:
    """What every command needs: which environment, where its config is, how to print."""

    env: str = "local"
    config_dir: Path = Path("environments")
    output: OutputFormat = "table"
    traceback: bool = False
    _loaded: dict[bool, LoadedSettings] = field(default_factory=dict, repr=False)

    @property
    def project_root(self) -> Path:
        """The directory holding environments/, contracts/, build/, deployments/."""
        return self.config_dir.resolve().parent

    def loaded(self, *, strict: bool = True) -> LoadedSettings:
        """Settings with their source file (cached per strictness)."""
        if strict not in self._loaded:
            from sphinxctl.settings import load_settings

            self._loaded[strict] = load_settings(self.env, self.config_dir, strict=strict)
        return self._loaded[strict]

    def settings(self, *, strict: bool = True) -> Settings:
        return self.loaded(strict=strict).settings

    @cached_property
    def out(self) -> Console:
        """Results (stdout): the one way the CLI writes there (rich renderables through it,
        machine text through `write`)."""
        from rich.console import Console

        return Console(soft_wrap=False)

    @cached_property
    def err(self) -> Console:
        """Progress and diagnostics (stderr), so `-o json | jq` always works."""
        from rich.console import Console

        return Console(stderr=True, soft_wrap=True)

    def write(self, text: str, *, err: bool = False) -> None:
        """Machine text (JSON, YAML, JUnit, a token) as is, no markup or wrapping: to stdout, or
        with `err` to stderr (a JSON error body)."""
        stream = (self.err if err else self.out).file
        stream.write(text)
        stream.flush()

    def require_output(self, *allowed: str) -> None:
        """Refuse an output format this command cannot produce."""
        if self.output not in allowed:
            from sphinxctl.errors import UsageError

            raise UsageError(
                f"output format {self.output!r} is not supported by this command",
                hint=f"use -o {' | -o '.join(allowed)}",
            )


def get_state(ctx: typer.Context) -> CliState:
    """The CliState the root callback stored on the context (a default one in isolation)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
