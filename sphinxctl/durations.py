"""The one grammar for durations typed by an operator (`--ttl`, `--since`, `--pause`, ...).

A non-negative number with an optional unit: `ms`, `s`, `m`, `h`, `d`, `w`; no unit means
seconds. Examples: `90`, `90s`, `500ms`, `1.5h`, `15m`, `7d`, `2w`. Callers add their own range
(a token lifetime must be whole seconds above zero, a pause above zero, ...).
"""

from __future__ import annotations

import re

_GRAMMAR = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)\s*(ms|s|m|h|d|w)?")
_SCALE = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
EXAMPLES = "90, 500ms, 30s, 15m, 1h, 7d or 2w"


def parse_seconds(text: str) -> float:
    """Seconds of a duration (ValueError naming the grammar when `text` is not one)."""
    match = _GRAMMAR.fullmatch(text.strip())
    if not match:
        raise ValueError(f"invalid duration {text!r}; use e.g. {EXAMPLES}")
    return float(match.group(1)) * _SCALE[match.group(2)]


def parse_whole_seconds(text: str) -> int:
    """Seconds of a duration that must be a whole number of them (e.g. a token lifetime)."""
    seconds = parse_seconds(text)
    if seconds != int(seconds):
        raise ValueError(f"invalid duration {text!r}: not a whole number of seconds")
    return int(seconds)
