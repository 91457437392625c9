"""compile_contracts on a small temporary project: artifacts, cache, errors, CLI rendering.

These compile for real (solc-js through the shim, or a native solc when one is installed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sphinxctl.errors import CompileError
from sphinxctl.solidity.artifacts import load_artifacts, read_manifest
from sphinxctl.solidity.compiler import compile_contracts

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

BOX = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Lib} from "./lib/Lib.sol";

contract Box is Ownable {
    uint256 public immutable CREATED;

    constructor() Ownable(msg.sender) {
        CREATED = Lib.one();
    }
}
"""
LIB = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

library Lib {
    function one() internal pure returns (uint256) {
        return 1;
    }
}
"""
MOCK = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

contract Mock {
    function f() external pure returns (uint256 unusedName) {
        uint256 unused;
        return 2;
    }
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    for name, text in {"contracts/Box.sol": BOX, "contracts/lib/Lib.sol": LIB,
                       "contracts/test/Mock.sol": MOCK}.items():  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_compile_writes_artifacts_then_reuses_them(project: Path) -> None:
    events: list[str] = []
    cold = compile_contracts(project, on_event=events.append)
    assert not cold.cached
    assert set(cold.artifacts) == {"Box", "Lib"}
    box = cold.artifacts["Box"]
    assert box.source_path == "contracts/Box.sol"
    assert box.bytecode.startswith("0x60") and box.deployed_bytecode.startswith("0x6080")
    assert box.deployed_bytecode.endswith(
        "64736f6c6343000825" + "0033"
    )  # CBOR metadata: solc 0.8.37
    assert box.compiler_version == "0.8.37+commit.f401782d"
    assert len(box.immutable_references) == 1  # CREATED
    assert {"contracts/Box.sol", "@openzeppelin/contracts/access/Ownable.sol"} <= set(
        box.source_hashes
    )
    assert any(item.get("name") == "owner" for item in box.abi)
    metadata = json.loads(box.metadata)
    assert metadata["settings"]["evmVersion"] == "cancun"
    assert metadata["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert (project / "build/artifacts/Box.json").is_file()
    manifest = read_manifest(project / "build/artifacts")
    assert manifest is not None and manifest.contracts == {"Box": "Box.json", "Lib": "Lib.json"}
    assert any("compiling 2 files" in event for event in events)

    warm = compile_contracts(project)
    assert warm.cached and warm.artifacts == cold.artifacts
    assert warm.compiler == cold.compiler
    assert load_artifacts(project) == cold.artifacts


def test_a_changed_import_or_force_recompiles(project: Path) -> None:
    compile_contracts(project)
    (project / "contracts/lib/Lib.sol").write_text(LIB.replace("return 1;", "return 7;"))
    assert not compile_contracts(project).cached
    assert not compile_contracts(project, force=True).cached


def test_test_contracts_build_separately_and_warnings_become_events(project: Path) -> None:
    events: list[str] = []
    result = compile_contracts(project, include_tests=True, on_event=events.append)
    assert "Mock" in result.artifacts
    assert "Mock" not in load_artifacts(project)
    assert "Mock" in load_artifacts(project, include_tests=True)
    assert (project / "build/artifacts-test/Mock.json").is_file()
    assert any(
        e.startswith("warning: contracts/test/Mock.sol:6:") and "Unused local variable" in e
        for e in events
    )


def test_syntax_error_names_file_and_line_and_keeps_the_old_build(project: Path) -> None:
    compile_contracts(project)
    (project / "contracts/Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\n\ncontract Broken {\n"
        "    uint256 x = 1\n}\n"
    )
    with pytest.raises(CompileError) as caught:
        compile_contracts(project)
    assert caught.value.message.startswith("contracts/Broken.sol:6:1: ParserError:")
    assert "Expected ';'" in caught.value.message
    assert caught.value.details["errors"]
    assert set(load_artifacts(project)) == {"Box", "Lib"}  # the last good build is untouched


def test_type_error_in_an_imported_file_is_located_there(project: Path) -> None:
    (project / "contracts/lib/Lib.sol").write_text(LIB.replace("return 1;", 'return "one";'))
    with pytest.raises(CompileError) as caught:
        compile_contracts(project)
    assert caught.value.message.startswith("contracts/lib/Lib.sol:6:16: TypeError:")


def test_duplicate_contract_names_are_refused(project: Path) -> None:
    (project / "contracts/Other.sol").write_text(
        LIB.replace("library Lib", "library Lib2").replace("Lib2", "Lib")
    )
    with pytest.raises(CompileError, match="contract name Lib is defined in both"):
        compile_contracts(project)


def test_load_artifacts_without_a_build_tells_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as caught:
        load_artifacts(tmp_path)
    assert caught.value.hint is not None and "sphinxctl contracts compile" in caught.value.hint


def test_a_corrupt_artifact_is_reported_not_half_loaded(project: Path) -> None:
    compile_contracts(project)
    (project / "build/artifacts/Box.json").write_text("{not json")
    with pytest.raises(CompileError, match="missing or corrupt") as caught:
        load_artifacts(project)
    assert "--force" in str(caught.value.hint)


# ------------------------------------------------------------------ CLI


def _cli(project: Path, *args: str) -> tuple[int, str, str]:
    from sphinxctl.cli.app import app

    result = CliRunner().invoke(app, ["--config-dir", str(project / "environments"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_compile_and_list_as_json(project: Path) -> None:
    code, out, _ = _cli(project, "-o", "json", "contracts", "compile")
    assert code == 0
    data = json.loads(out)
    assert data["cached"] is False and "0.8.37" in data["compiler"]
    assert {row["name"] for row in data["contracts"]} == {"Box", "Lib"}
    code, out, _ = _cli(project, "contracts", "list", "-o", "json")
    assert code == 0 and {row["name"] for row in json.loads(out)["contracts"]} == {"Box", "Lib"}
    code, out, _ = _cli(project, "contracts", "compile")
    assert code == 0 and "reused cached build" in out


def test_cli_syntax_error_is_a_clear_message_not_a_traceback(project: Path) -> None:
    (project / "contracts/Box.sol").write_text(BOX.replace("Lib.one();", "Lib.one()"))
    code, out, err = _cli(project, "contracts", "compile")
    assert code == 1
    assert "compile-failed" in err and "contracts/Box.sol:12:5: ParserError" in err
    assert "Traceback" not in out + err


def test_cli_list_without_build_exits_with_hint(project: Path) -> None:
    code, _, err = _cli(project, "contracts", "list")
    assert code == 1 and "sphinxctl contracts compile" in err
