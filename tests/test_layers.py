"""What ruff's TID251 cannot say per folder: sphinxctl/cli/ may import rich and typer, but reads
the process environment only at the justified sites listed here (settings/ reads the rest)."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[1] / "sphinxctl" / "cli"
# file -> why it touches os.environ
ALLOWED = {
    "serve.py": "hands the environment and config directory to uvicorn's worker processes",
    "safe.py": "reads the owner key from the variable the operator named on the command line",
}


def environ_users(source: str) -> int:
    """How many `os.environ` / `os.getenv` / `from os import environ, getenv` a module has."""
    found = 0
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            found += 1
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += sum(alias.name in ("environ", "getenv") for alias in node.names)
    return found


def test_the_scanner_finds_each_form() -> None:
    assert environ_users("import os\nos.environ['A']\nos.getenv('B')\n") == 2
    assert environ_users("from os import environ, path\n") == 1
    assert environ_users("import os\nos.path.join('a')\n") == 0


def test_cli_reads_the_environment_only_where_justified() -> None:
    users = {p.name for p in CLI.rglob("*.py") if environ_users(p.read_text())}
    assert users <= set(ALLOWED), sorted(users - set(ALLOWED))
