"""`sphinxctl config show|validate`: formats, redaction, clear configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sphinxctl.cli.app import app

LOCAL_JWT_SECRET = "local-development-secret-not-for-production-use"
LOCAL_DEPLOYER_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_config_show_json_is_valid_json_without_secret_values(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        "--config-dir", str(config_dir), "-e", "local", "config", "show", "-o", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["chains"]["polygon"]["chain_id"] == 137
    assert data["deployer"]["private_key"] == "********"
    assert data["auth"]["keys"][0]["secret"] == "********"
    assert LOCAL_JWT_SECRET not in out
    assert LOCAL_DEPLOYER_KEY not in out


def test_config_show_never_prints_a_secret_from_the_environment(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-" + "x" * 40
    for fmt in ("json", "yaml", "table"):
        code, out, err = run(
            "--config-dir", str(config_dir), "config", "show", "-o", fmt,
            env={"SPHINXCTL_JWT_SECRET": secret, "SPHINXCTL_REDIS_URL": f"redis://:{secret}@h:1/0"},
        )  # fmt: skip
        assert code == 0, err
        assert secret not in out + err


def test_global_options_work_before_and_after_the_subcommand(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("SPHINX_DEPLOYER_KEY", "0x" + "11" * 32)
    clean_env.setenv("SPHINX_JWT_SECRET", "y" * 40)
    clean_env.setenv("SPHINX_GRAFANA_PASSWORD", "pw")
    clean_env.setenv("DATABASE_URL", "postgresql://u@db/sphinx")
    cfg = str(config_dir)
    before = run("--config-dir", cfg, "-e", "mainnet", "config", "show", "-o", "json")
    after = run("config", "show", "-e", "mainnet", "-o", "json", "--config-dir", cfg)
    mixed = run("--env=mainnet", "config", "-ojson", "show", f"--config-dir={cfg}")
    assert before[0] == after[0] == mixed[0] == 0
    assert before[1] == after[1] == mixed[1]
    assert json.loads(before[1])["environment"] == "mainnet"


def test_env_defaults_to_sphinxctl_env_then_local(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, out, _ = run("--config-dir", str(config_dir), "config", "show", "-o", "json")
    assert code == 0 and json.loads(out)["environment"] == "local"
    code, out, _ = run(
        "--config-dir", str(config_dir), "config", "show", "-o", "json",
        env={"SPHINXCTL_ENV": "testnet"},
    )  # fmt: skip
    assert code == 0 and json.loads(out)["environment"] == "testnet"


def test_mainnet_validate_with_needed_variable_unset_exits_2_naming_it(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, out, err = run("-e", "mainnet", "--config-dir", str(config_dir), "config", "validate")
    assert code == 2
    assert "SPHINX_DEPLOYER_KEY" in err
    assert "mainnet.yaml" in err
    assert "Traceback" not in out + err


def test_validate_passes_once_variables_are_set(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    env = {
        "SPHINX_DEPLOYER_KEY": "0x" + "22" * 32,
        "SPHINX_JWT_SECRET": "z" * 48,
        "SPHINX_GRAFANA_PASSWORD": "pw",
        "DATABASE_URL": "postgresql://u@db/sphinx",
    }
    code, out, err = run("-e", "mainnet", "--config-dir", str(config_dir), "config", "validate",
                         "-o", "json", env=env)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["chains"] == {"ethereum": 1, "polygon": 137, "arbitrum": 42161}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["api"].update(port="eighty"), ["api.port", "integer"]),
        (lambda d: d["api"].update(prot=80), ["api.prot", "unknown key"]),
        (lambda d: d["chains"]["polygon"].update(chain_id=-5), ["chains.polygon.chain_id"]),
        (lambda d: d["contracts"].update(treasury="0x1234"), ["contracts.treasury", "address"]),
        (lambda d: d["auth"].update(active_kid="nope"), ["active_kid"]),
    ],
)
def test_invalid_values_name_file_key_and_line(
    config_dir: Path, clean_env: pytest.MonkeyPatch, edit: object, expected: list[str]
) -> None:
    path = config_dir / "local.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = run("--config-dir", str(config_dir), "config", "validate")
    assert code == 2
    assert "local.yaml" in err
    for text in expected:
        assert text in err
    assert "Traceback" not in out + err


def test_malformed_yaml_names_the_line(config_dir: Path, clean_env: pytest.MonkeyPatch) -> None:
    path = config_dir / "local.yaml"
    lines = path.read_text().splitlines()
    lines.insert(6, "  broken: [unclosed")
    path.write_text("\n".join(lines))
    code, _, err = run("--config-dir", str(config_dir), "config", "validate")
    assert code == 2
    assert "malformed YAML" in err and "local.yaml" in err and "line" in err


def test_unknown_environment_lists_the_available_ones(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, _, err = run("--config-dir", str(config_dir), "-e", "staging", "config", "show")
    assert code == 2
    assert "staging" in err and "local, mainnet, testnet" in err


def test_environment_override_replaces_a_file_value(
    config_dir: Path, clean_env: pytest.MonkeyPatch
) -> None:
    code, out, _ = run("--config-dir", str(config_dir), "config", "show", "-o", "json",
                       env={"SPHINXCTL_API__PORT": "9191"})  # fmt: skip
    assert code == 0 and json.loads(out)["api"]["port"] == 9191
    code, _, err = run("--config-dir", str(config_dir), "config", "show",
                       env={"SPHINXCTL_API__PORT": "ninety"})  # fmt: skip
    assert code == 2 and "SPHINXCTL_API__PORT" in err


def test_version_flag() -> None:
    from sphinxctl import __version__

    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


@pytest.mark.parametrize(
    "key",
    [
        "0x1234",
        "0x" + "00" * 32,
        "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",  # the order n
        "0x" + "ff" * 32,
        "0x" + "zz" * 32,
    ],
)
def test_config_validate_rejects_a_deployer_key_that_is_not_a_secp256k1_key(
    config_dir: Path, clean_env: pytest.MonkeyPatch, key: str
) -> None:
    env = {
        "SPHINX_DEPLOYER_KEY": key,
        "SPHINX_JWT_SECRET": "z" * 48,
        "SPHINX_GRAFANA_PASSWORD": "pw",
        "DATABASE_URL": "postgresql://u@db/sphinx",
    }
    code, out, err = run("-e", "mainnet", "--config-dir", str(config_dir), "config", "validate",
                         env=env)  # fmt: skip
    assert code == 2
    assert "deployer.private_key" in err and "secp256k1" in err
    assert key[2:] not in out + err  # the key itself is never printed
    # n - 1, the largest valid key, passes
    env["SPHINX_DEPLOYER_KEY"] = (
        "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140"
    )
    code, _, err = run("-e", "mainnet", "--config-dir", str(config_dir), "config", "validate",
                       env=env)  # fmt: skip
    assert code == 0, err
