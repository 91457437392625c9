"""The one duration grammar, and the three options that use it agreeing on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sphinxctl.auth.tokens import parse_duration as token_ttl
from sphinxctl.cli.audit import parse_since
from sphinxctl.cli.infra_rollout import parse_duration as rollout_pause
from sphinxctl.durations import parse_seconds, parse_whole_seconds
from sphinxctl.errors import UsageError

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("90", 90), ("90s", 90), (" 15m ", 900), ("1h", 3600), ("7d", 604_800),
     ("2w", 1_209_600), ("500ms", 0.5), ("1.5h", 5400), ("10 m", 600)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "-5", "1h30m", "5y", "1e3", "1.1234567s", "ten"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_seconds(text)


def test_whole_seconds() -> None:
    assert parse_whole_seconds("2w") == 1_209_600
    with pytest.raises(ValueError, match="whole number"):
        parse_whole_seconds("1500ms")


@pytest.mark.parametrize("text", ["90", "15m", "2w"])
def test_every_option_reads_the_same_duration(text: str) -> None:
    seconds = parse_seconds(text)
    assert token_ttl(text) == seconds
    assert rollout_pause(text) == seconds
    assert parse_since(text, NOW) == NOW - timedelta(seconds=seconds)


def test_since_still_takes_dates_and_refuses_the_rest() -> None:
    assert parse_since("2026-02-01", NOW) == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(UsageError, match="--since"):
        parse_since("1h30m", NOW)
