"""Find a compilation unit's Solidity sources and the full closure of what they import.

Sources are handed to solc by content (no import callback), keyed by their source unit name:
project files by their path relative to the project root (`contracts/...`), packages by their
npm import path (`@openzeppelin/contracts/...`, read from `node_modules/`). Because every file
solc sees passes through here, the cache key can hash all of them.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from pathlib import Path

from pydantic import BaseModel

from sphinxctl.errors import CompileError

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_IMPORT = re.compile(r"""\bimport\s+(?:[^;"']*?\bfrom\s+)?["']([^"']+)["'][^;]*;""")


class SourceFile(BaseModel):
    """One source unit: its name for solc, where it was read from, its text and digest."""

    unit: str
    path: Path
    content: str
    sha256: str


def discover(root: Path, directory: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Source unit names of every `.sol` file under `root/directory`, minus excluded prefixes."""
    base = root / directory
    if not base.is_dir():
        raise CompileError(
            f"no contracts directory at {base}",
            hint="run sphinxctl from the project root or pass --config-dir",
        )
    units = []
    for path in sorted(base.rglob("*.sol")):
        unit = path.relative_to(root).as_posix()
        if not any(unit.startswith(prefix.rstrip("/") + "/") for prefix in exclude):
            units.append(unit)
    return units


def _locate(root: Path, unit: str) -> Path | None:
    for candidate in (root / unit, root / "node_modules" / unit):
        if candidate.is_file():
            return candidate
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _imports(content: str) -> list[tuple[str, int]]:
    """(import path, line) of every import statement, ignoring commented-out ones."""
    blanked = _COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), content)
    return [(m.group(1), _line_of(blanked, m.start())) for m in _IMPORT.finditer(blanked)]


def resolve_import(importer: str, target: str) -> str:
    """The source unit name an import statement refers to (solc's rules, no remappings)."""
    if target.startswith(("./", "../")):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
    return target


def collect(root: Path, units: list[str]) -> dict[str, SourceFile]:
    """Read `units` and, transitively, everything they import; keyed by source unit name."""
    found: dict[str, SourceFile] = {}
    pending: list[tuple[str, str | None]] = [(unit, None) for unit in units]
    while pending:
        unit, origin = pending.pop()
        if unit in found:
            continue
        if unit.startswith(("/", "../")) or unit == "..":
            raise CompileError(
                f"import outside the project: {unit}"
                + (f" (imported at {origin})" if origin else ""),
                hint="import project files relatively and packages by their npm name",
            )
        path = _locate(root, unit)
        if path is None:
            where = f" (imported at {origin})" if origin else ""
            raise CompileError(
                f"source not found: {unit}{where}",
                hint="check the import path; packages are read from node_modules/ (run `npm ci`)",
            )
        content = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        found[unit] = SourceFile(unit=unit, path=path, content=content, sha256=digest)
        for target, line in _imports(content):
            pending.append((resolve_import(unit, target), f"{unit}:{line}"))
    return dict(sorted(found.items()))
