"""Paths named in the configuration (key files, keystores, the SQLite file, the devnet's state):
absolute as written, else relative to the project root."""

from __future__ import annotations

from pathlib import Path


def project_path(project_root: Path, path: Path | str) -> Path:
    """`path` when absolute, else `project_root / path` (never the working directory)."""
    path = Path(path)
    return path if path.is_absolute() else project_root / path
