"""Configuration-level items: each test breaks one condition and sees only that item fail.

These run on a private project with every network endpoint at a closed loopback port, so the
chain, API and Redis items fail identically before and after; the comparison is what matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sphinxctl.checks import Status
from tests.support.checks_env import Runner, assert_only_failure, by_id
from tests.support.envfile import edit_env

ZERO = "0x" + "0" * 40


@pytest.fixture
def local_before(run: Runner) -> Any:
    return run("local")


@pytest.mark.integration
def test_unset_variable_fails_only_cfg_001(project: Path, run: Runner, local_before: Any) -> None:
    def change(data: dict[str, Any]) -> None:
        data["contracts"]["base_uri"] = "http://127.0.0.1:8080/meta/${CHECK_TEST_UNSET_VAR}"

    edit_env(project, "local", change)
    after = run("local")
    assert_only_failure(local_before, after, "CFG-001")
    assert "CHECK_TEST_UNSET_VAR" in by_id(after)["CFG-001"].reason
    assert "contracts.base_uri" in by_id(after)["CFG-001"].reason


@pytest.mark.integration
def test_malformed_configuration_fails_cfg_001_and_blocks_the_rest(
    project: Path, run: Runner, local_before: Any
) -> None:
    (project / "environments" / "local.yaml").write_text("chains: [unclosed\n")
    report = run("local")
    results = by_id(report)
    assert results["CFG-001"].status == Status.FAIL
    assert "malformed YAML" in results["CFG-001"].reason
    before = by_id(local_before)
    newly_failed = [
        r.id for r in report.results if r.status == Status.FAIL and before[r.id].status != r.status
    ]
    assert newly_failed == ["CFG-001"]
    for item in ("CFG-004", "API-002", "KEY-006", "INF-002"):
        assert results[item].status == Status.SKIP, item
        assert results[item].details["blocked_by"] == "CFG-001"


@pytest.mark.integration
def test_zero_address_fails_only_cfg_002(project: Path, run: Runner, local_before: Any) -> None:
    edit_env(project, "local", lambda d: d["contracts"].update(spx_token={"ethereum": ZERO}))
    after = run("local")
    assert_only_failure(local_before, after, "CFG-002")
    assert "contracts.spx_token.ethereum is a placeholder" in by_id(after)["CFG-002"].reason


@pytest.mark.integration
def test_missing_deployer_key_fails_only_cfg_003(
    offline: pytest.MonkeyPatch, run: Runner, local_before: Any
) -> None:
    offline.setenv("SPHINXCTL_DEPLOYER__PRIVATE_KEY", "")
    after = run("local")
    assert_only_failure(local_before, after, "CFG-003")
    assert "deployer.private_key or deployer.keystore_path" in by_id(after)["CFG-003"].reason


@pytest.mark.integration
def test_weak_jwt_secret_fails_only_cfg_004(
    offline: pytest.MonkeyPatch, run: Runner, local_before: Any
) -> None:
    offline.setenv("SPHINXCTL_JWT_SECRET", "a" * 40)
    after = run("local")
    assert_only_failure(local_before, after, "CFG-004")
    assert "bits of entropy" in by_id(after)["CFG-004"].reason


def test_short_jwt_secret_is_refused_by_the_key_set_rules(
    offline: pytest.MonkeyPatch, run: Runner
) -> None:
    offline.setenv("SPHINXCTL_JWT_SECRET", "tooshort")
    result = by_id(run("local", areas=["config"]))["CFG-004"]
    assert result.status == Status.FAIL
    assert "at least 32 are required" in result.reason
    assert "tooshort" not in result.reason


@pytest.mark.integration
def test_retired_active_key_fails_only_cfg_005(
    project: Path, run: Runner, local_before: Any
) -> None:
    edit_env(project, "local", lambda d: d["auth"]["keys"][0].update(retired=True))
    after = run("local")
    assert_only_failure(local_before, after, "CFG-005")
    assert "retired" in by_id(after)["CFG-005"].reason


@pytest.mark.integration
def test_wrong_chain_id_in_config_fails_only_cfg_006(
    project: Path, run: Runner, local_before: Any
) -> None:
    edit_env(project, "local", lambda d: d["chains"]["polygon"].update(chain_id=80002))
    after = run("local")
    assert_only_failure(local_before, after, "CFG-006")
    assert "chains.polygon.chain_id is 80002, expected 137" in by_id(after)["CFG-006"].reason


@pytest.mark.integration
def test_threshold_above_owner_count_fails_only_key_006(
    project: Path, run: Runner, local_before: Any
) -> None:
    edit_env(project, "local", lambda d: d["multisig"].update(threshold=4))
    after = run("local")
    assert_only_failure(local_before, after, "KEY-006")
    assert "threshold 4" in by_id(after)["KEY-006"].reason


@pytest.mark.integration
def test_deployer_as_safe_owner_fails_only_key_006(
    project: Path, run: Runner, local_before: Any
) -> None:
    deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0
    edit_env(project, "local", lambda d: d["multisig"]["owners"].append(deployer))
    after = run("local")
    assert_only_failure(local_before, after, "KEY-006")
    assert "deployer" in by_id(after)["KEY-006"].reason


@pytest.mark.integration
def test_wildcard_cors_fails_only_api_002(project: Path, run: Runner, local_before: Any) -> None:
    edit_env(project, "local", lambda d: d["api"].update(cors_origins=["*"]))
    after = run("local")
    assert_only_failure(local_before, after, "API-002")
    assert "wildcard" in by_id(after)["API-002"].reason


@pytest.mark.integration
def test_docs_enabled_on_mainnet_fails_only_api_003(project: Path, run: Runner) -> None:
    before = run("mainnet")
    edit_env(project, "mainnet", lambda d: d["api"].update(docs_enabled=True))
    after = run("mainnet")
    assert_only_failure(before, after, "API-003")


@pytest.mark.integration
def test_fail_open_rate_limiter_on_mainnet_fails_only_api_005(project: Path, run: Runner) -> None:
    before = run("mainnet")
    edit_env(project, "mainnet", lambda d: d["redis"].update(failure_mode="open"))
    after = run("mainnet")
    assert_only_failure(before, after, "API-005")
    assert "admits every request unlimited" in by_id(after)["API-005"].reason


@pytest.mark.integration
def test_mainnet_as_committed_lists_every_unset_secret_and_placeholder(run: Runner) -> None:
    results = by_id(run("mainnet"))
    cfg1 = results["CFG-001"]
    assert cfg1.status == Status.FAIL
    for variable in ("SPHINX_DEPLOYER_KEY", "SPHINX_JWT_SECRET", "DATABASE_URL"):
        assert variable in cfg1.reason
    cfg2 = results["CFG-002"]
    assert cfg2.status == Status.FAIL
    assert "contracts.treasury is a placeholder" in cfg2.reason
    assert "multisig.safes.arbitrum is a placeholder" in cfg2.reason
    cfg3 = results["CFG-003"]
    assert "database.url" in cfg3.reason and "monitoring.grafana_admin_password" in cfg3.reason
    assert results["KEY-006"].status == Status.FAIL  # no owners configured
