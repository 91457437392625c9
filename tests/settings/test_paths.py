"""Project-relative paths from the configuration resolve against the project root, one way."""

from __future__ import annotations

from pathlib import Path

from sphinxctl.settings.paths import project_path


def test_a_relative_path_is_under_the_project_root_and_an_absolute_one_is_kept(
    tmp_path: Path,
) -> None:
    assert project_path(tmp_path, "keys/jwt.key") == tmp_path / "keys" / "jwt.key"
    assert project_path(tmp_path, Path("/etc/sphinx/key")) == Path("/etc/sphinx/key")
    assert project_path(tmp_path, "") == tmp_path
