"""Stable exit codes: one test per code, through the root group's single error translation."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from sphinxctl import errors
from sphinxctl.cli.app import SphinxGroup
from sphinxctl.errors import ExitCode

RAISERS: dict[str, BaseException] = {
    "error": errors.CompileError("contracts/X.sol:3: expected ';'"),
    "usage": errors.UsageError("bad flag"),
    "config": errors.ConfigError("environments/x.yaml:1 api.port: bad"),
    "checks": errors.ChecksFailed("2 checks failed"),
    "chain": errors.PreflightError("chain id mismatch"),
    "kube": errors.KubernetesError("apply refused"),
    "interrupt": KeyboardInterrupt(),
}


def _app() -> typer.Typer:
    app = typer.Typer(cls=SphinxGroup)

    @app.callback()
    def root() -> None:
        """Test root."""

    @app.command()
    def ok() -> None:
        """Succeeds."""

    @app.command()
    def fail(kind: str) -> None:
        """Raises the named error."""
        raise RAISERS[kind]

    return app


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("error", ExitCode.ERROR),
        ("usage", ExitCode.USAGE),
        ("config", ExitCode.USAGE),
        ("checks", ExitCode.CHECKS_FAILED),
        ("chain", ExitCode.CHAIN),
        ("kube", ExitCode.KUBERNETES),
        ("interrupt", ExitCode.INTERRUPTED),
    ],
)
def test_error_maps_to_its_exit_code_without_traceback(kind: str, code: ExitCode) -> None:
    result = CliRunner().invoke(_app(), ["fail", kind])
    assert result.exit_code == int(code)
    assert "Traceback" not in result.output


def test_success_exits_0() -> None:
    assert CliRunner().invoke(_app(), ["ok"]).exit_code == ExitCode.OK


def test_error_message_carries_reference_and_hint() -> None:
    result = CliRunner().invoke(_app(), ["fail", "config"])
    assert "config-invalid" in result.stderr
    assert "sphinxctl config validate" in result.stderr  # ConfigError's default hint


def test_traceback_flag_reraises() -> None:
    from sphinxctl.cli.app import app as real_app

    result = CliRunner().invoke(real_app, ["--traceback", "-e", "nope!", "config", "show"])
    assert isinstance(result.exception, errors.ConfigError)


def test_unknown_option_is_a_usage_error() -> None:
    from sphinxctl.cli.app import app as real_app

    assert CliRunner().invoke(real_app, ["config", "show", "--bogus"]).exit_code == 2
