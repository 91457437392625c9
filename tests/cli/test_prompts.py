"""The one confirmation (sphinxctl/cli/prompts.py): --yes skips it, no terminal is a usage error
(exit 2), mainnet wants its name typed, a decline aborts (exit 1) — the same for every command."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from sphinxctl.cli.app import app
from sphinxctl.cli.prompts import confirm
from sphinxctl.errors import Aborted, ConfirmationRequired, ExitCode

QUESTION = "Abort the rollout and restore the stable?"


def _answer(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_yes_confirms_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    _answer(monkeypatch, "")  # a question would find no answer and fail
    assert confirm(QUESTION, yes=True, env="mainnet", tty=False) is True


def test_no_terminal_and_no_yes_is_a_usage_error_naming_the_question() -> None:
    with pytest.raises(ConfirmationRequired) as refused:
        confirm(QUESTION, yes=False, env="local", tty=False)
    assert refused.value.exit_code == ExitCode.USAGE
    assert int(ExitCode.USAGE) == 2
    assert refused.value.message == f"{QUESTION} needs confirmation"
    with pytest.raises(ConfirmationRequired, match="nothing was signed") as custom:
        confirm(QUESTION, yes=False, env="local", tty=False, unattended="nothing was signed",
                hint="pass --yes")  # fmt: skip
    assert custom.value.hint == "pass --yes"


def test_mainnet_takes_only_the_typed_environment_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _answer(monkeypatch, "y\n")
    assert confirm(QUESTION, yes=False, env="mainnet", tty=True) is False
    _answer(monkeypatch, "mainnet\n")
    assert confirm(QUESTION, yes=False, env="mainnet", tty=True) is True
    asked = capsys.readouterr()
    assert f"{QUESTION} Type the environment name (mainnet) to confirm" in asked.err
    assert asked.out.strip() == ""  # stdout keeps only results (input() echoes one space)


def test_elsewhere_y_confirms_and_a_decline_aborts_when_told(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _answer(monkeypatch, "y\n")
    assert confirm(QUESTION, yes=False, env="testnet", tty=True) is True
    _answer(monkeypatch, "n\n")
    assert confirm(QUESTION, yes=False, env="testnet", tty=True) is False
    _answer(monkeypatch, "\n")  # the default is no
    with pytest.raises(Aborted, match="nothing was changed") as declined:
        confirm(QUESTION, yes=False, env="testnet", tty=True, declined="nothing was changed")
    assert declined.value.exit_code == ExitCode.ERROR
    assert capsys.readouterr().out.strip() == ""


def test_a_rollout_abort_on_mainnet_without_a_terminal_is_refused_before_the_cluster() -> None:
    result = CliRunner().invoke(app, ["-e", "mainnet", "infra", "rollout", "abort"])
    assert result.exit_code == 2, result.output
    assert "[confirmation-required]" in result.output and QUESTION in result.output


def test_a_rollout_abort_on_mainnet_answered_y_is_declined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sphinxctl.cli.prompts.interactive", lambda: True)
    result = CliRunner().invoke(app, ["-e", "mainnet", "infra", "rollout", "abort"], input="y\n")
    assert result.exit_code == 1, result.output
    assert "Type the environment name (mainnet)" in result.output
    assert "[aborted]" in result.output and "nothing was changed" in result.output
