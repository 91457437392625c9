"""`sphinxctl --help` stays light: no heavy library is imported to print help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("web3", "eth_account", "solcx", "kubernetes", "fastapi", "uvicorn", "redis",
         "sqlalchemy", "jwt", "psycopg", "alembic")  # fmt: skip

PROBE = """
import json, sys
from typer.testing import CliRunner
from sphinxctl.cli.app import app
args = json.loads(sys.argv[1])
result = CliRunner().invoke(app, args)
assert result.exit_code == 0, result.output
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in json.loads(sys.argv[2]))))
"""


def _imported_after(args: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True, text=True, check=True, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_root_help_imports_no_heavy_library() -> None:
    assert _imported_after(["--help"]) == []


def test_every_group_help_imports_no_heavy_library() -> None:
    from sphinxctl.cli.app import GROUPS

    for group in GROUPS:
        assert _imported_after([group, "--help"]) == [], group


def test_shell_completion_lists_groups_and_subcommands() -> None:
    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "_SPHINXCTL_COMPLETE": "complete_bash",
               "COMP_WORDS": words, "COMP_CWORD": str(cword)}  # fmt: skip
        script = Path(sys.executable).with_name("sphinxctl")
        out = subprocess.run([str(script)], capture_output=True, text=True, env=env)
        return out.stdout.split()

    assert complete("sphinxctl con", 1) == ["config", "contracts"]
    assert complete("sphinxctl config s", 2) == ["show"]
    assert complete("sphinxctl -e mainnet config v", 4) == ["validate"]
