"""Who may resume a snapshot job: a job whose owner process is gone (same host) or whose lease
ran out; never one a live process holds. The CLI refuses bad input before touching anything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sphinxctl.rarity.jobs import owner_gone, process_identity

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)
LATER = NOW + timedelta(seconds=60)


def test_a_live_owner_on_this_host_keeps_its_job() -> None:
    assert not owner_gone(process_identity(), LATER, NOW)


def test_a_dead_owner_process_or_an_expired_lease_frees_the_job() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:123"
    assert owner_gone(dead, LATER, NOW)
    assert owner_gone(process_identity(), NOW - timedelta(seconds=1), NOW)
    assert owner_gone(None, None, NOW)


def test_a_reused_pid_is_not_mistaken_for_the_owner() -> None:
    host, pid, _started = process_identity().split(":")
    assert pid == str(os.getpid())
    assert owner_gone(f"{host}:{pid}:1", LATER, NOW)  # same pid, another start time


def test_an_owner_on_another_host_is_trusted_until_its_lease_ends() -> None:
    assert not owner_gone("elsewhere:1:1", LATER, NOW)
    assert owner_gone("elsewhere:1:1", NOW - timedelta(seconds=1), NOW)


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["snapshot", "--chain", "solana"], 2, "unknown chain 'solana'"),
        (["snapshot", "--chain", "ethereum", "--publish"], 2, "no terminal is attached"),
        (["snapshot", "--chain", "ethereum", "--batch-size", "0"], 2, "batch-size"),
    ],
)
def test_cli_refuses_bad_input_before_reading_anything(
    clean_env: pytest.MonkeyPatch, args: list[str], code: int, text: str
) -> None:
    from sphinxctl.cli.app import app

    command = ["--config-dir", str(ROOT / "environments"), "-e", "local", "rarity", *args]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == code, result.output
    assert text in result.output
