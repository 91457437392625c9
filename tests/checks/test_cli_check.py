"""`sphinxctl check ENV`: exit codes, formats, the mainnet of the repository as committed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from tests.support.checks_env import ROOT
from tests.support.ports import HangingServer

CONFIG = str(ROOT / "environments")


def invoke(*args: str):
    return CliRunner().invoke(app, ["--config-dir", CONFIG, *args])


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A loopback server that accepts connections and never answers (a hung provider)."""
    server = HangingServer()
    yield server.port
    server.close()


@pytest.mark.integration
def test_mainnet_as_committed_exits_3_listing_what_is_missing(
    offline: pytest.MonkeyPatch,
) -> None:
    result = invoke("check", "mainnet", "-o", "json")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output + result.stderr
    report = json.loads(result.stdout)
    assert report["environment"] == "mainnet" and report["ok"] is False
    failed = {r["id"]: r for r in report["results"] if r["status"] == "fail"}
    for item in ("CFG-001", "CFG-002", "CFG-003", "KEY-006", "RPC-001", "DEP-001", "INF-001"):
        assert item in failed, item
    assert "SPHINX_DEPLOYER_KEY" in failed["CFG-001"]["reason"]
    assert "contracts.treasury is a placeholder" in failed["CFG-002"]["reason"]
    assert all(r["hint"] for r in failed.values())
    assert "mainnet is not ready" in result.stderr and "CFG-001" in result.stderr


def test_table_output_names_items_reasons_and_fixes(offline: pytest.MonkeyPatch) -> None:
    result = invoke("check", "mainnet", "--only", "config")
    assert result.exit_code == 3
    for text in ("CFG-001", "fail", "SPHINX_JWT_SECRET", "fix:", "NOT READY"):
        assert text in result.stdout, text
    assert "RPC-001" not in result.stdout


def test_positional_env_overrides_the_global_option(offline: pytest.MonkeyPatch) -> None:
    result = invoke("-e", "local", "check", "mainnet", "--only", "api", "-o", "json")
    assert json.loads(result.stdout)["environment"] == "mainnet"
    result = invoke("-e", "mainnet", "check", "--only", "api", "-o", "json")
    assert json.loads(result.stdout)["environment"] == "mainnet"


@pytest.mark.integration
def test_all_passing_area_exits_0(offline: pytest.MonkeyPatch) -> None:
    result = invoke("check", "local", "--only", "monitoring", "--allow-manual")
    assert result.exit_code == 0, result.output
    assert "READY" in result.stdout


def test_unattested_manual_items_fail_unless_allowed(offline: pytest.MonkeyPatch) -> None:
    result = invoke("check", "local", "--only", "incident")
    assert result.exit_code == 3
    assert "manual item(s) unattested" in result.stderr
    assert invoke("check", "local", "--only", "incident", "--allow-manual").exit_code == 0


@pytest.mark.integration
def test_junit_to_stdout_and_to_a_file(offline: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = invoke("check", "mainnet", "--only", "config,monitoring", "-o", "junit")
    assert result.exit_code == 3
    suites = ET.fromstring(result.stdout)
    cases = suites.findall(".//testcase")
    assert {c.get("name", "")[:7] for c in cases} >= {"CFG-001", "MON-001"}
    failure = next(c for c in cases if c.get("name", "").startswith("CFG-001")).find("failure")
    assert failure is not None and "SPHINX_JWT_SECRET" in (failure.get("message") or "")
    passing = next(c for c in cases if c.get("name", "").startswith("MON-001"))
    assert passing.find("failure") is None
    assert int(suites.get("failures", "0")) >= 3

    target = tmp_path / "report.xml"
    result = invoke(
        "check", "mainnet", "--only", "config", "-o", "junit", "--output-file", str(target)
    )
    assert result.exit_code == 3
    assert ET.parse(target).getroot().tag == "testsuites"
    assert "CFG-001" in result.stdout and "<testsuites" not in result.stdout


def test_bad_area_and_unknown_environment_are_usage_errors(offline: pytest.MonkeyPatch) -> None:
    result = invoke("check", "local", "--only", "nonsense")
    assert result.exit_code == 2 and "unknown area" in result.stderr
    result = invoke("check", "staging")
    assert result.exit_code == 2 and "no configuration for environment 'staging'" in result.stderr


def test_hung_rpc_endpoint_is_bounded_by_the_budget(
    offline: pytest.MonkeyPatch, hanging_port: int
) -> None:
    offline.setenv("SPHINXCTL_CHAINS__POLYGON__RPC_URLS", f'["http://127.0.0.1:{hanging_port}"]')
    result = invoke("check", "local", "--only", "chains", "--timeout", "1", "-o", "json")
    assert result.exit_code == 3
    rpc = next(r for r in json.loads(result.stdout)["results"] if r["id"] == "RPC-001")
    assert f"polygon http://127.0.0.1:{hanging_port}: timed out" in rpc["reason"]


def test_check_help_lists_its_options() -> None:
    result = CliRunner().invoke(app, ["check", "--help"])
    assert result.exit_code == 0
    for option in ("ENV", "--only", "--output-file", "--allow-manual", "--timeout"):
        assert option in result.stdout


@pytest.mark.integration
def test_no_secret_value_reaches_any_output(offline: pytest.MonkeyPatch) -> None:
    from tests.support.checks_env import closed_port

    secrets = {
        "SPHINX_DEPLOYER_KEY": "0x" + "5b" * 32,
        "SPHINX_JWT_SECRET": "Qx9-short-jwt",
        "DATABASE_URL": f"postgresql://sphinx:Qx9-db-pass@127.0.0.1:{closed_port()}/sphinx",
        "SPHINX_GRAFANA_PASSWORD": "Qx9-grafana-pass",
    }
    for name, value in secrets.items():
        offline.setenv(name, value)
    offline.setenv("SPHINXCTL_REDIS__URL", f"redis://:Qx9-redis-pass@127.0.0.1:{closed_port()}/0")
    shown = ["5b" * 32, "Qx9-short-jwt", "Qx9-db-pass", "Qx9-grafana-pass", "Qx9-redis-pass"]
    for fmt in ("table", "json", "yaml", "junit"):
        result = invoke("check", "mainnet", "-o", fmt)
        assert result.exit_code == 3
        text = result.stdout + result.stderr
        assert "CFG-004" in text  # the short JWT secret is reported...
        assert [s for s in shown if s in text] == [], fmt  # ...without showing it
