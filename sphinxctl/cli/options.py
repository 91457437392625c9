"""Options several command groups share, as typer `Annotated` types (one definition each)."""

from __future__ import annotations

from typing import Annotated

import typer

# Test hook (fault injection): `<point>:<n>` kills the process at the n-th checkpoint.
CrashAt = Annotated[
    str | None, typer.Option("--crash-at", hidden=True, envvar="SPHINXCTL_TEST_CRASH_AT")
]
ConfirmCI = Annotated[bool, typer.Option("--yes", "-y", help="Confirm without a prompt (CI).")]
NoPrompt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunCost = Annotated[bool, typer.Option("--dry-run", help="Preflight and cost table only.")]
