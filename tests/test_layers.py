"""The architecture as tests (docs/ARCHITECTURE.md, "Direction of imports"): which sphinxctl
package may import which, counting every import (module level, inside functions, under
TYPE_CHECKING); and what ruff's TID251 cannot say per folder: sphinxctl/cli/ may import rich and
typer, but reads the process environment only at the justified sites listed here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sphinxctl"
CLI = PACKAGE / "cli"
# file -> why it touches os.environ
ALLOWED = {
    "serve.py": "hands the environment and config directory to uvicorn's worker processes",
    "safe.py": "reads the owner key from the variable the operator named on the command line",
}

# package (or top-level module) -> the sphinxctl packages it may import; "sphinxctl" itself
# (the version) is open to all. cli and api are the edges: nothing below imports them.
BASE = {"errors", "settings"}
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "metrics": set(),
    "durations": {"errors"},
    "validation": {"errors", "metrics"},
    "settings": {"errors", "validation"},
    "solidity": {"errors"},
    "monitoring": BASE | {"metrics"},
    "ratelimit": BASE | {"metrics"},
    "infra": BASE,
    "auth": BASE | {"durations", "metrics"},
    "chains": BASE | {"solidity"},
    "store": BASE | {"auth", "metrics", "rarity"},  # rarity: the snapshot models it stores
    "deploy": BASE | {"chains", "solidity", "store"},
    "safe": BASE | {"chains", "deploy", "solidity", "store"},
    "platform": BASE | {"auth", "chains", "metrics", "solidity", "store", "validation"},
    "rarity": BASE | {"chains", "deploy", "metrics", "platform", "solidity", "store"},
    "checks": BASE
    | {"auth", "chains", "deploy", "infra", "monitoring", "solidity", "store", "durations"},
}
EDGES = {"api", "cli"}


def sphinxctl_imports(source: str) -> set[str]:
    """The sphinxctl packages a module imports (`sphinxctl.x.y` -> `x`), wherever the import is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "sphinxctl":
                names = [f"sphinxctl.{alias.name}" for alias in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("sphinxctl.")}
    return found


def imports_by_package() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        if relative == ("__init__.py",) or relative == ("__main__.py",):
            continue
        owner = relative[0].removesuffix(".py")
        graph.setdefault(owner, set()).update(sphinxctl_imports(path.read_text()) - {owner})
    return graph


def test_the_import_scanner_finds_each_form() -> None:
    source = (
        "import sphinxctl.chains.rpc\n"
        "from sphinxctl.api.errors import ApiProblem\n"
        "from sphinxctl import __version__, errors\n"
        "def f():\n    from sphinxctl.platform.gateway import ChainGateway\n"
        "if TYPE_CHECKING:\n    from sphinxctl.store import Store\n"
        "from . import sibling\n"
    )
    assert sphinxctl_imports(source) == {
        "chains",
        "api",
        "__version__",
        "errors",
        "platform",
        "store",
    }


def test_every_package_has_a_rule() -> None:
    assert set(imports_by_package()) <= set(MAY_IMPORT) | EDGES


def test_no_domain_package_imports_the_api_or_the_cli() -> None:
    """rarity, platform and every other domain package serve the API and the CLI alike."""
    offenders = {
        package: sorted(imported & EDGES)
        for package, imported in imports_by_package().items()
        if package not in EDGES and imported & EDGES
    }
    assert offenders == {}


def test_the_api_never_imports_the_cli() -> None:
    assert "cli" not in imports_by_package().get("api", set())


def test_imports_run_the_documented_direction() -> None:
    wrong = {
        package: sorted(imported - MAY_IMPORT[package] - {"__version__"})
        for package, imported in imports_by_package().items()
        if package in MAY_IMPORT and imported - MAY_IMPORT[package] - {"__version__"}
    }
    assert wrong == {}


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
