"""Compiler backend selection and the solc-js shim, exercised through real processes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from sphinxctl.errors import CompileError
from sphinxctl.solidity.backend import (
    SHIM_SCRIPT,
    Backend,
    run_standard_json,
    select_backend,
    solcjs_wrapper,
)
from sphinxctl.solidity.profile import compiler_settings
from sphinxctl.solidity.sources import collect

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EMPTY_PATH = ""  # a PATH with no directories: no `solc` can be found on it


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    return tmp_path


@pytest.fixture
def wrapper(project: Path) -> Path:
    return solcjs_wrapper(project).executable


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_solcjs_wrapper_answers_version_without_starting_node(wrapper: Path) -> None:
    out = subprocess.run(
        [str(wrapper), "--version"], capture_output=True, text=True, env={"PATH": ""}, check=True
    )
    assert out.stdout.splitlines()[-1] == "Version: 0.8.37+commit.f401782d.Emscripten.clang"
    import solcx.wrapper

    assert str(solcx.wrapper.get_solc_version(wrapper)) == "0.8.37"


def test_solcjs_wrapper_is_reused_and_regenerated_when_tampered(
    project: Path, wrapper: Path
) -> None:
    before = wrapper.stat().st_mtime_ns
    assert solcjs_wrapper(project).executable == wrapper
    assert wrapper.stat().st_mtime_ns == before
    wrapper.write_text(wrapper.read_text().replace("fingerprint: ", "fingerprint: stale"))
    backend = solcjs_wrapper(project)
    assert "fingerprint: stale" not in wrapper.read_text()
    assert backend.kind == "solc-js" and backend.version == "0.8.37+commit.f401782d"


def test_py_solcx_installed_native_compiler_is_preferred(
    project: Path, wrapper: Path, tmp_path: Path
) -> None:
    solcx_dir = tmp_path / "solcx"
    solcx_dir.mkdir()
    shutil.copy(
        wrapper, solcx_dir / "solc-v0.8.37"
    )  # speaks solc's CLI: stands in for a native binary
    backend = select_backend(project, solcx_dir=solcx_dir, search_path=EMPTY_PATH)
    assert (backend.kind, backend.origin, backend.executable) == (
        "native",
        "py-solc-x",
        solcx_dir / "solc-v0.8.37",
    )
    source = (
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\ncontract A { uint256 x = 1; }\n"
    )
    output = run_standard_json(
        backend,
        {
            "language": "Solidity",
            "sources": {"A.sol": {"content": source}},
            "settings": compiler_settings(),
        },
        project,
    )
    assert output["contracts"]["A.sol"]["A"]["evm"]["bytecode"]["object"]


def test_native_compiler_on_path_is_used_and_other_versions_are_skipped(
    project: Path, wrapper: Path, tmp_path: Path
) -> None:
    on_path = tmp_path / "bin"
    on_path.mkdir()
    shutil.copy(wrapper, on_path / "solc")
    wrong = _script(
        tmp_path / "solcx" / "solc-v0.8.37", "echo 'Version: 0.8.20+commit.a1b79de6.Linux.g++'\n"
    )
    backend = select_backend(project, solcx_dir=wrong.parent, search_path=str(on_path))
    assert (backend.kind, backend.origin) == ("native", "PATH")
    _script(on_path / "solc", "echo 'Version: 0.8.20+commit.a1b79de6.Linux.g++'\n")
    assert (
        select_backend(project, solcx_dir=wrong.parent, search_path=str(on_path)).kind == "solc-js"
    )
    assert select_backend(project, allow_native=False).kind == "solc-js"


def test_wrong_or_missing_npm_solc_is_a_clear_error(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "solc" / "package.json"
    with pytest.raises(CompileError) as caught:
        select_backend(tmp_path, solcx_dir=tmp_path, search_path=EMPTY_PATH)
    assert "solcx.install" in str(caught.value.hint) and "npm ci" in str(caught.value.hint)
    package.parent.mkdir(parents=True)
    package.write_text(json.dumps({"version": "0.8.20"}))
    with pytest.raises(CompileError, match=r"npm solc is 0\.8\.20") as caught:
        select_backend(tmp_path, solcx_dir=tmp_path, search_path=EMPTY_PATH)
    assert "npm ci" in str(caught.value.hint)


def test_a_crashing_compiler_becomes_a_compile_error(tmp_path: Path) -> None:
    broken = _script(
        tmp_path / "solc",
        'if [ "$1" = "--version" ]; then\n'
        '  echo "Version: 0.8.37+commit.f401782d.Linux.g++"; exit 0\nfi\n'
        "echo 'out of memory' >&2\nexit 3\n",
    )
    backend = Backend(
        kind="native", executable=broken, version="0.8.37+commit.f401782d", origin="PATH"
    )
    with pytest.raises(CompileError, match=r"failed \(exit 3\): out of memory"):
        run_standard_json(
            backend, {"language": "Solidity", "sources": {"A.sol": {"content": ""}}}, tmp_path
        )


# ------------------------------------------------------------------ the shim itself


def _standard_json(wrapper: Path, data: dict, *args: str, cwd: Path) -> dict:
    proc = subprocess.run(
        [str(wrapper), "--standard-json", *args],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_shim_writes_outputs_far_beyond_64_kib_intact(wrapper: Path) -> None:
    sources = collect(ROOT, ["contracts/SpaceFlightNFT.sol"])
    data = {
        "language": "Solidity",
        "sources": {name: {"content": source.content} for name, source in sources.items()},
        "settings": {
            **compiler_settings(),
            # ABI and AST only: no code generation, yet megabytes of JSON.
            "outputSelection": {"*": {"*": ["abi"], "": ["ast"]}},
        },
    }
    proc = subprocess.run(
        [str(wrapper), "--standard-json"],
        input=json.dumps(data).encode(),
        capture_output=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0
    assert len(proc.stdout) > 16 * 65_536
    output = json.loads(proc.stdout)  # the whole document parses: nothing was cut off
    assert output["contracts"]["contracts/SpaceFlightNFT.sol"]["SpaceFlightNFT"]["abi"]
    assert output["sources"]["contracts/SpaceFlightNFT.sol"]["ast"]["nodeType"] == "SourceUnit"


def test_shim_reads_url_sources_and_imports_from_allowed_paths_only(
    wrapper: Path, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "A.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\n"
        'import "./B.sol";\ncontract A is B {}\n'
    )
    (tmp_path / "src" / "B.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\ncontract B {}\n"
    )
    data = {"language": "Solidity", "sources": {"src/A.sol": {"urls": ["src/A.sol"]}},
            "settings": {"outputSelection": {"*": {"*": ["abi"]}}}}  # fmt: skip
    output = _standard_json(wrapper, data, "--base-path", str(tmp_path), cwd=ROOT)
    assert set(output["contracts"]) == {"src/A.sol", "src/B.sol"}
    outside = {"language": "Solidity", "sources": {"x.sol": {"urls": [str(ROOT / "package.json")]}},
               "settings": {"outputSelection": {"*": {"*": ["abi"]}}}}  # fmt: skip
    output = _standard_json(wrapper, outside, "--base-path", str(tmp_path), cwd=tmp_path)
    assert any("not found" in e["message"].lower() for e in output["errors"])


def test_shim_rejects_what_it_does_not_speak() -> None:
    env = {**os.environ, "SPHINX_SOLCJS_DIR": str(ROOT / "node_modules" / "solc")}
    for args in (["--bin", "x.sol"], ["--optimize"], []):
        proc = subprocess.run(
            ["node", str(SHIM_SCRIPT), *args], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 2 and "solc-shim:" in proc.stderr
