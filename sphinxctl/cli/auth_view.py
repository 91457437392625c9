"""Rendering for `sphinxctl auth`: claims, a new key, a revocation, the role table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from sphinxctl.auth.keygen import GeneratedKey
    from sphinxctl.auth.revocation import Revocation
    from sphinxctl.auth.tokens import Claims


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def claims_table(claims: Claims, status: str) -> Table:
    table = Table(title=f"token {status}", show_header=False)
    for name, value in (
        ("sub", claims.sub),
        ("role", claims.role.value),
        ("permissions", ", ".join(claims.permissions)),
        ("iss", claims.iss),
        ("aud", ", ".join(claims.aud)),
        ("jti", claims.jti),
        ("kid / alg", f"{claims.kid} / {claims.alg}"),
        ("issued", _when(claims.iat)),
        ("expires", _when(claims.exp)),
    ):
        table.add_row(name, value)
    return table


def key_view(result: GeneratedKey, config_file: Path) -> RenderableType:
    files = "\n".join(f"  {path} (0600)" for path in result.files)
    return Group(
        Text(f"kid {result.kid} ({result.algorithm})\nwrote:\n{files}\n"),
        Text(f"add to {config_file}:"),
        Syntax(result.config_snippet, "yaml"),
    )


def revocation_view(result: Revocation) -> Text:
    return Text(f"revoked {result.jti} (entry kept {result.ttl_seconds}s)")


def roles_table(table_data: dict[str, list[str]]) -> Table:
    view = Table("role", "permissions")
    for role, granted in table_data.items():
        view.add_row(role, ", ".join(granted))
    return view
