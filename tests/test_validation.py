"""Strict input types (EIP-55, phi score, bounded lists and strings, safe names) and the
classifier of rejected input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from sphinxctl.metrics import REGISTRY
from sphinxctl.validation import (
    MAX_LIST_ITEMS,
    ChecksumAddress,
    PhiScore,
    SafeFileName,
    SafeName,
    ShortText,
    TokenIdList,
    bounded_list,
    bounded_str,
    classify,
    classify_errors,
    record_rejection,
    safe_path,
    to_checksum_address,
)

# The test vectors of EIP-55 itself (all caps, all lower, mixed).
EIP55_VECTORS = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]

address = TypeAdapter(ChecksumAddress)


@pytest.mark.parametrize("vector", EIP55_VECTORS)
def test_eip55_vectors_are_accepted_unchanged(vector: str) -> None:
    assert to_checksum_address(vector) == vector
    assert address.validate_python(vector) == vector


@pytest.mark.parametrize("vector", EIP55_VECTORS)
def test_all_lowercase_is_normalised_to_the_checksum(vector: str) -> None:
    assert address.validate_python(vector.lower()) == vector


@pytest.mark.parametrize("vector", EIP55_VECTORS)
def test_every_one_letter_case_flip_is_rejected(vector: str) -> None:
    letters = [i for i, c in enumerate(vector) if i >= 2 and c.isalpha()]
    assert letters, "every vector has letters"
    for i in letters:
        flipped = vector[:i] + vector[i].swapcase() + vector[i + 1 :]
        if flipped[2:] == flipped[2:].lower():
            continue  # flipping the only capital gives all-lowercase: accepted, normalised
        with pytest.raises(ValidationError, match="EIP-55 checksum"):
            address.validate_python(flipped)


def test_all_uppercase_that_is_not_the_checksum_is_rejected() -> None:
    vector = EIP55_VECTORS[4]
    with pytest.raises(ValidationError):
        address.validate_python("0x" + vector[2:].upper())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0x",
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # no prefix
        "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # capital X
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",  # 39 digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0",  # 41 digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",  # not hex
        " 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n",
        "vitalik.eth",
        1234,
        None,
    ],
)
def test_malformed_addresses_are_rejected(bad: Any) -> None:
    with pytest.raises(ValidationError):
        address.validate_python(bad)


# --- numbers, lists, strings ----------------------------------------------------------------
phi = TypeAdapter(PhiScore)


@pytest.mark.parametrize("value", [200, 201, 618, 999, 1000, "500"])
def test_phi_score_in_range(value: Any) -> None:
    assert phi.validate_python(value) == int(value)


@pytest.mark.parametrize("value", [199, 1001, 0, -1, 10**30, True, 500.5, "abc", None])
def test_phi_score_out_of_range_or_not_an_integer(value: Any) -> None:
    with pytest.raises(ValidationError):
        phi.validate_python(value)


ids = TypeAdapter(TokenIdList)


def test_token_id_list_from_a_list_or_a_comma_string() -> None:
    assert ids.validate_python([1, 2, 3]) == [1, 2, 3]
    assert ids.validate_python("1, 2,3") == [1, 2, 3]
    assert ids.validate_python(["1,2", "3"]) == [1, 2, 3]  # repeated query parameters


@pytest.mark.parametrize(
    "value",
    [[], "", ",", "1,,2", "1,-2", "1,x", [True], list(range(MAX_LIST_ITEMS + 1)),
     ",".join(["1"] * (MAX_LIST_ITEMS + 1)), [2**256]],
)  # fmt: skip
def test_token_id_list_bounds(value: Any) -> None:
    with pytest.raises(ValidationError):
        ids.validate_python(value)


def test_bounded_helpers_in_a_model() -> None:
    class Body(BaseModel):
        names: bounded_list(SafeName, 3)  # type: ignore[valid-type]
        note: bounded_str(10)  # type: ignore[valid-type]

    assert Body(names=["a", "b"], note="hello").names == ["a", "b"]
    for bad in ({"names": ["a"] * 4, "note": "x"}, {"names": [], "note": "x" * 11}):
        with pytest.raises(ValidationError):
            Body(**bad)
    with pytest.raises(ValidationError):
        Body(names=[], note="tab\tinside")


@pytest.mark.parametrize("value", ["", "x" * 257, "line\nbreak", "nul\x00", "\x7f"])
def test_short_text_rejects(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(ShortText).validate_python(value)


# --- names and paths -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ethereum", "SpaceFlightNFT", "arbitrum-one", "a", "x_1"])
def test_safe_names(name: str) -> None:
    assert TypeAdapter(SafeName).validate_python(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "..", "../etc", "a/b", "a\\b", ".hidden", "%2e%2e", "a b", "é", "x" * 65, "a.b",
     "-lead", "a\x00"],
)  # fmt: skip
def test_unsafe_names_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(SafeName).validate_python(name)


def test_safe_file_names_allow_single_dots_only() -> None:
    adapter = TypeAdapter(SafeFileName)
    assert adapter.validate_python("local.json") == "local.json"
    for bad in ("..", "a..b", ".env", "../x.json", "x/y.json"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_safe_path_stays_inside_its_base(tmp_path: Path) -> None:
    assert (
        safe_path(tmp_path, "deployments", "local.json")
        == (tmp_path / "deployments" / "local.json").resolve()
    )
    (tmp_path / "link").symlink_to("/etc")
    for parts in (("..", "x"), ("a/../../b",), ("link", "passwd"), (".ssh",)):
        with pytest.raises(ValueError):
            safe_path(tmp_path, *parts)


# --- classifier ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("' OR '1'='1", "sql-injection"),
        ("1 OR 1=1", "sql-injection"),
        ("1; DROP TABLE users", "sql-injection"),
        ("1 UNION SELECT password FROM users", "sql-injection"),
        ("admin'--", "sql-injection"),
        ("1%27%20OR%201%3D1", "sql-injection"),
        ("1 AND SLEEP(5)", "sql-injection"),
        ("<script>alert(1)</script>", "xss"),
        ("<img src=x onerror=alert(1)>", "xss"),
        ("javascript:alert(document.cookie)", "xss"),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", "xss"),
        ("&lt;svg onload=alert(1)&gt;", "xss"),
        ("../../etc/passwd", "path-traversal"),
        ("..\\..\\windows\\win.ini", "path-traversal"),
        ("%2e%2e%2f%2e%2e%2fetc%2fpasswd", "path-traversal"),
        ("%252e%252e%252f", "path-traversal"),  # double encoded
        ("file.txt\x00.png", "path-traversal"),
        ("hello world", "other"),
        ("0x12345", "other"),
        ("1001", "other"),
        ("", "other"),
    ],
)
def test_classifier_labels(value: str, category: str) -> None:
    assert classify(value) == category


def test_classifier_searches_nested_values_and_keeps_the_worst() -> None:
    assert classify({"name": "ok", "items": ["fine", {"x": "<script>"}]}) == "xss"
    assert classify(["' OR 1=1 --", "../../etc/passwd"]) == "path-traversal"
    assert classify(12345) == "other"


def test_classifier_bounds_its_work() -> None:
    # Only the prefix is searched (no xss found past it); the length itself is an overflow probe.
    assert classify("a" * 1_000_000 + "<script>") == "overflow"
    deep: Any = "<script>"
    for _ in range(50):
        deep = [deep]
    assert classify(deep) == "other"


def test_rejections_are_counted_by_category() -> None:
    class Query(BaseModel):
        chain: SafeName
        to: ChecksumAddress

    def count(category: str) -> float:
        value = REGISTRY.get_sample_value(
            "sphinxos_suspicious_requests_total", {"category": category}
        )
        return value or 0.0

    def ordinary() -> float:
        return REGISTRY.get_sample_value("sphinxos_invalid_requests_total") or 0.0

    before = {c: count(c) for c in ("sql-injection", "xss", "path-traversal", "other")}
    ordinary_before = ordinary()
    with pytest.raises(ValidationError) as info:
        Query(chain="../../etc", to="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    errors = info.value.errors()
    assert classify_errors(errors) == "path-traversal"
    assert record_rejection(errors) == "path-traversal"
    assert record_rejection("<script>") == "xss"
    assert record_rejection("1 UNION SELECT 1") == "sql-injection"
    assert record_rejection("typo") == "other"
    assert {c: count(c) - before[c] for c in before} == {
        "sql-injection": 1,
        "xss": 1,
        "path-traversal": 1,
        "other": 0,  # an ordinary rejection is not suspicious: it has its own counter
    }
    assert ordinary() == ordinary_before + 1
