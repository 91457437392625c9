"""Strict input types for the API (allow-list validation) and a classifier for rejected input.

Types (pydantic `Annotated` aliases, usable in models, path and query parameters):
  ChecksumAddress  EIP-55: mixed case must match the checksum; all-lowercase is accepted and
                   normalised to the checksum form; anything else is rejected.
  PhiScore         integer 200..1000.      TokenId  integer 0..2**256-1.
  TokenIdList      1..MAX_LIST_ITEMS token ids, from a list or a '1,2,3' string.
  ShortText        1..256 printable characters.
  SafeName         1..64 of [A-Za-z0-9_-], starting alphanumeric (chain, contract names):
                   no dots, slashes or encodings, so never a path traversal.
  SafeFileName     like SafeName plus single dots (no leading dot, no '..').
Booleans are never accepted as numbers.

The classifier labels input that *was rejected* with an attack class ('path-traversal',
'command-injection', 'template-injection', 'xss', 'sql-injection', 'overflow') or 'other' (an
ordinary mistake: a typo, a value out of range). Attack classes count in
sphinxos_suspicious_requests_total{category}, which the security alerts read; ordinary rejections
count in sphinxos_invalid_requests_total, so one buggy client never pages security. It is not
the defence (validation is): it only tells operators what kind of garbage arrives.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote_plus

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

PHI_MIN = 200
PHI_MAX = 1000
MAX_LIST_ITEMS = 100
MAX_CLASSIFIED_CHARS = 4096

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- EIP-55 addresses ---------------------------------------------------------------------
def to_checksum_address(address: str) -> str:
    """The EIP-55 form of a 0x-prefixed 40-hex-digit address (any case)."""
    from eth_hash.auto import keccak

    if not _HEX_ADDRESS.fullmatch(address):
        raise ValueError("an address is 0x followed by 40 hexadecimal digits")
    body = address[2:].lower()
    digest = keccak(body.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(body)
    )


def _checksum_address(value: str) -> str:
    checksummed = to_checksum_address(value)
    body = value[2:]
    if body == body.lower() or value == checksummed:
        return checksummed
    raise ValueError("address fails its EIP-55 checksum (mixed case must match exactly)")


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is required, not a boolean")
    return value


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _split_ids(value: Any) -> Any:
    """'1,2,3' or ['1,2', '3'] (repeated query parameters) -> ['1', '2', '3']."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if len(value) + sum(v.count(",") for v in value) > MAX_LIST_ITEMS:
            raise ValueError(f"at most {MAX_LIST_ITEMS} items")
        return [p.strip() for v in value for p in v.split(",")]
    return value


def _safe_file_name(value: str) -> str:
    if ".." in value:
        raise ValueError("'..' is not allowed in a name")
    return value


ChecksumAddress = Annotated[str, AfterValidator(_checksum_address)]
PhiScore = Annotated[int, Field(ge=PHI_MIN, le=PHI_MAX), BeforeValidator(_no_bool)]
TokenId = Annotated[int, Field(ge=0, le=2**256 - 1), BeforeValidator(_no_bool)]
TokenIdList = Annotated[
    list[TokenId], BeforeValidator(_split_ids), Field(min_length=1, max_length=MAX_LIST_ITEMS)
]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_no_control)
]
SafeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
SafeFileName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
    AfterValidator(_safe_file_name),
]


def bounded_list(item: Any, max_items: int, min_items: int = 0) -> Any:
    """`Annotated[list[item], Field(min_length, max_length)]` for models built at runtime."""
    return Annotated[list[item], Field(min_length=min_items, max_length=max_items)]


def bounded_str(max_chars: int, min_chars: int = 1) -> Any:
    """A printable string of min..max characters."""
    return Annotated[
        str,
        StringConstraints(min_length=min_chars, max_length=max_chars),
        AfterValidator(_no_control),
    ]


def safe_path(base: Path, *names: str) -> Path:
    """`base/names...`, refusing any name that is not a SafeFileName or escapes `base`."""
    pattern = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    for name in names:
        if not pattern.fullmatch(name) or ".." in name:
            raise ValueError(f"unsafe path component {name!r}")
    path = base.joinpath(*names).resolve()
    if not path.is_relative_to(base.resolve()):
        raise ValueError("path escapes its base directory")
    return path


# --- classifier of rejected input -----------------------------------------------------------
Category = Literal[
    "path-traversal",
    "command-injection",
    "template-injection",
    "xss",
    "sql-injection",
    "overflow",
    "other",
]
# Worst first: a value matching several classes gets the first.
CATEGORIES: tuple[Category, ...] = (
    "path-traversal",
    "command-injection",
    "template-injection",
    "xss",
    "sql-injection",
    "overflow",
    "other",
)
ATTACK_CATEGORIES: frozenset[Category] = frozenset(CATEGORIES) - {"other"}
# Beyond any uint256 / int256 the contracts take: only an overflow probe sends such a number.
_OVERFLOW_ABOVE = 2**256 - 1
_OVERFLOW_BELOW = -(2**255)
_LONG_NUMBER = re.compile(r"^\s*[-+]?\d{79,}\s*$")

_PATTERNS: tuple[tuple[Category, re.Pattern[str]], ...] = (
    (
        "path-traversal",
        re.compile(
            r"(^|[/\\])\.\.([/\\]|$)|\x00|/etc/(passwd|shadow|hosts)|\bwin\.ini\b"
            r"|c:\\windows|^file:|/proc/self/",
        ),
    ),
    (
        "command-injection",
        re.compile(
            r"[;&|`]\s*(cat|ls|id|whoami|uname|curl|wget|nc|ncat|bash|sh|rm|ping|sleep|echo)\b"
            r"|\$\(\s*[a-z]|`\s*[a-z][^`]*`|\|\|\s*[a-z]+\s+-|\bbin/(ba)?sh\b",
        ),
    ),
    (
        "template-injection",
        re.compile(
            r"\$\{\s*jndi\s*:|\$\{\s*(env|sys|java|lower|upper|date)\s*:|\{\{.*\}\}|\{%.*%\}"
            r"|<%=?.*%>|#\{.*\}|\$\{\s*\d+\s*[*+/-]\s*\d+\s*\}",
        ),
    ),
    (
        "xss",
        re.compile(
            r"<\s*/?\s*(script|iframe|img|svg|object|embed|body|style|link|meta|base|form|input"
            r"|details|video|audio|math)\b|javascript\s*:|vbscript\s*:|data\s*:\s*text/html"
            r"|\bon[a-z]{3,}\s*=|expression\s*\(|\bsrcdoc\s*=|alert\s*\(|document\.cookie",
        ),
    ),
    (
        "sql-injection",
        re.compile(
            r"['\"`]\s*(or|and|\|\||&&)\s|\b(or|and)\s+['\"]?\w+['\"]?\s*=\s*['\"]?\w+"
            r"|\bunion\b(\s+all)?\s+select\b|\bselect\b.+\bfrom\b|\b(drop|truncate|alter)\s+table\b"
            r"|\binsert\s+into\b|\bdelete\s+from\b|\bupdate\s+\w+\s+set\b"
            r"|;\s*(drop|select|insert|update|delete|shutdown|exec|declare)\b|(--|#)\s*$|/\*.*?\*/"
            r"|\b(sleep|pg_sleep|benchmark)\s*\(|\bwaitfor\s+delay\b|\bxp_cmdshell\b"
            r"|\binformation_schema\b|\bchar\s*\(\s*\d+",
        ),
    ),
)


def _normalise(value: str) -> str:
    text = value[:MAX_CLASSIFIED_CHARS]
    for _ in range(3):  # double/triple URL encoding
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return html.unescape(text).lower()


def _classify_one(value: str | int | float) -> Category:
    if isinstance(value, int | float):
        return "overflow" if not _OVERFLOW_BELOW <= value <= _OVERFLOW_ABOVE else "other"
    if len(value) > MAX_CLASSIFIED_CHARS or _LONG_NUMBER.match(value[:MAX_CLASSIFIED_CHARS]):
        worst: Category = "overflow"
    else:
        worst = "other"
    normalised = _normalise(value)
    for category, pattern in _PATTERNS:
        if pattern.search(normalised):
            return category
    return worst


def classify(value: Any) -> Category:
    """Label one rejected value (strings and numbers inside lists/dicts are searched; the
    worst label wins)."""
    best: Category = "other"
    for item in _scalars(value):
        category = _classify_one(item)
        if CATEGORIES.index(category) < CATEGORIES.index(best):
            best = category
    return best


def classify_errors(errors: Iterable[Mapping[str, Any]]) -> Category:
    """One label for a rejected request from pydantic/FastAPI `errors()` (their 'input')."""
    return classify([error.get("input") for error in errors])


def is_attack(category: Category) -> bool:
    return category in ATTACK_CATEGORIES


def record_rejection(errors_or_value: Any) -> Category:
    """Classify a rejected request (errors() list, or a raw value) and count it: an attack
    class in sphinxos_suspicious_requests_total{category}, anything else in
    sphinxos_invalid_requests_total. Returns the label for the log."""
    from sphinxctl.metrics import INVALID_REQUESTS, SUSPICIOUS_REQUESTS

    if isinstance(errors_or_value, list) and all(isinstance(e, Mapping) for e in errors_or_value):
        category = classify_errors(errors_or_value)
    else:
        category = classify(errors_or_value)
    if is_attack(category):
        SUSPICIOUS_REQUESTS.labels(category).inc()
    else:
        INVALID_REQUESTS.inc()
    return category


def _scalars(value: Any, depth: int = 0) -> Iterable[str | int | float]:
    if depth > 8:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, str | int | float):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, Mapping):
        for key, item in list(value.items())[:MAX_LIST_ITEMS]:
            yield from _scalars(key, depth + 1)
            yield from _scalars(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value)[:MAX_LIST_ITEMS]:
            yield from _scalars(item, depth + 1)


SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_PRIVATE_KEY = re.compile(r"^(?:0x)?([0-9a-fA-F]{64})$")


def check_private_key(text: str) -> None:
    """ValueError unless `text` is a usable secp256k1 private key: 32 bytes of hex (0x
    optional) whose value is in 1 .. n-1. The message never contains the key."""
    match = _PRIVATE_KEY.fullmatch(text.strip())
    if match is None:
        raise ValueError("is not a secp256k1 private key: expected 0x + 64 hex digits")
    if not 0 < int(match.group(1), 16) < SECP256K1_ORDER:
        raise ValueError("is not a secp256k1 private key: it must be in 1 .. curve order - 1")
