"""Source discovery and import closure (no compiler involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphinxctl.errors import CompileError
from sphinxctl.solidity.compiler import cache_key
from sphinxctl.solidity.profile import compiler_settings
from sphinxctl.solidity.sources import _imports, collect, discover, resolve_import


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_every_import_form_is_found_and_comments_are_ignored() -> None:
    text = """
    import "./A.sol";
    import {B, C as D} from "./B.sol";
    import * as E from '@pkg/E.sol';
    import "./F.sol" as F;
    // import "./Commented.sol";
    /* import "./Block.sol";
       import "./Block2.sol"; */
    import {G} from
        "../G.sol";
    """
    found = _imports(text)
    assert [path for path, _ in found] == [
        "./A.sol",
        "./B.sol",
        "@pkg/E.sol",
        "./F.sol",
        "../G.sol",
    ]
    assert found[0][1] == 2 and found[4][1] == 9  # line of the `import` keyword


@pytest.mark.parametrize(
    ("importer", "target", "unit"),
    [
        ("contracts/X.sol", "./interfaces/I.sol", "contracts/interfaces/I.sol"),
        ("contracts/test/M.sol", "../interfaces/I.sol", "contracts/interfaces/I.sol"),
        ("contracts/X.sol", "@openzeppelin/contracts/access/AccessControl.sol",
         "@openzeppelin/contracts/access/AccessControl.sol"),
        ("@openzeppelin/contracts/access/AccessControl.sol", "../utils/Context.sol",
         "@openzeppelin/contracts/utils/Context.sol"),
    ],
)  # fmt: skip
def test_resolve_import_follows_solc_rules(importer: str, target: str, unit: str) -> None:
    assert resolve_import(importer, target) == unit


def test_collect_reads_the_whole_closure_including_packages(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "contracts/Main.sol",
        'import "./lib/L.sol";\nimport "@pkg/P.sol";\ncontract Main {}',
    )
    _write(tmp_path, "contracts/lib/L.sol", "contract L {}")
    _write(tmp_path, "node_modules/@pkg/P.sol", 'import "./Q.sol";\ncontract P {}')
    _write(tmp_path, "node_modules/@pkg/Q.sol", "contract Q {}")
    sources = collect(tmp_path, ["contracts/Main.sol"])
    assert list(sources) == [
        "@pkg/P.sol",
        "@pkg/Q.sol",
        "contracts/Main.sol",
        "contracts/lib/L.sol",
    ]
    assert sources["@pkg/Q.sol"].path == tmp_path / "node_modules/@pkg/Q.sol"
    assert len(sources["contracts/Main.sol"].sha256) == 64


def test_a_missing_import_names_the_importing_file_and_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "contracts/Main.sol",
        'pragma solidity 0.8.37;\n\nimport "./Nope.sol";\ncontract Main {}',
    )
    with pytest.raises(CompileError) as caught:
        collect(tmp_path, ["contracts/Main.sol"])
    assert "contracts/Nope.sol" in caught.value.message
    assert "contracts/Main.sol:3" in caught.value.message


def test_an_import_leaving_the_project_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "contracts/Main.sol", 'import "../../outside.sol";\ncontract Main {}')
    with pytest.raises(CompileError, match="outside the project"):
        collect(tmp_path, ["contracts/Main.sol"])


def test_discover_skips_excluded_directories_and_needs_the_directory(tmp_path: Path) -> None:
    _write(tmp_path, "contracts/A.sol", "")
    _write(tmp_path, "contracts/local/B.sol", "")
    _write(tmp_path, "contracts/test/M.sol", "")
    assert discover(tmp_path, "contracts", ("contracts/test",)) == [
        "contracts/A.sol",
        "contracts/local/B.sol",
    ]
    assert discover(tmp_path, "contracts/test") == ["contracts/test/M.sol"]
    with pytest.raises(CompileError, match="no contracts directory"):
        discover(tmp_path / "elsewhere", "contracts")


def test_cache_key_changes_with_any_source_settings_or_compiler(tmp_path: Path) -> None:
    _write(tmp_path, "contracts/Main.sol", 'import "@pkg/P.sol";\ncontract Main {}')
    _write(tmp_path, "node_modules/@pkg/P.sol", "contract P {}")
    settings = compiler_settings()
    key = cache_key(collect(tmp_path, ["contracts/Main.sol"]), settings, "0.8.37+commit.f401782d")
    assert key == cache_key(
        collect(tmp_path, ["contracts/Main.sol"]), settings, "0.8.37+commit.f401782d"
    )
    _write(tmp_path, "node_modules/@pkg/P.sol", "contract P { }")  # a dependency changed
    changed_dep = cache_key(
        collect(tmp_path, ["contracts/Main.sol"]), settings, "0.8.37+commit.f401782d"
    )
    other_settings = {**settings, "evmVersion": "shanghai"}
    sources = collect(tmp_path, ["contracts/Main.sol"])
    assert len({key, changed_dep, cache_key(sources, other_settings, "0.8.37+commit.f401782d"),
                cache_key(sources, settings, "0.8.36+commit.00000000")}) == 4  # fmt: skip
