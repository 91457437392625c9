"""Property test: generated malformed environment files always give a clear ConfigError."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinxctl.errors import ConfigError
from sphinxctl.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = yaml.safe_load((ROOT / "environments" / "local.yaml").read_text())
ENVIRON: dict[str, str] = {}  # nothing set: defaults apply, bare ${VAR} is missing


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path to a leaf (scalar) value of the document."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _paths(v, (*prefix, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _paths(v, (*prefix, i))]
    return [prefix]


def _mappings(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [prefix] + [p for k, v in node.items() for p in _mappings(v, (*prefix, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _mappings(v, (*prefix, i))]
    return []


LEAVES = _paths(BASE)
MAPPINGS = _mappings(BASE)
REQUIRED_TOP = ["chains", "contracts", "auth"]


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


# A value no leaf of the schema accepts (every leaf is a scalar or a list of scalars).
BAD_VALUES = st.sampled_from([{"nested": [1, 2]}, {"a": {"b": None}}, [[["deep"]]]])
JUNK_KEYS = st.from_regex(r"\A[a-z][a-z_]{2,12}\Z", fullmatch=True).filter(
    lambda k: k not in {"name", "display_name"}
)


@st.composite
def malformed_documents(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["bad-type", "unknown-key", "drop-required", "syntax",
                                 "not-a-mapping", "missing-var"]))  # fmt: skip
    doc = copy.deepcopy(BASE)
    if kind == "bad-type":
        path = draw(st.sampled_from(LEAVES))
        parent = _get(doc, path[:-1])
        parent[path[-1]] = draw(BAD_VALUES)
    elif kind == "unknown-key":
        path = draw(st.sampled_from(MAPPINGS))
        _get(doc, path)[draw(JUNK_KEYS) + "_x"] = [1, [2]]
    elif kind == "drop-required":
        del doc[draw(st.sampled_from(REQUIRED_TOP))]
    elif kind == "missing-var":
        path = draw(st.sampled_from(LEAVES))
        name = draw(st.from_regex(r"\AUNSET_[A-Z]{4,10}\Z", fullmatch=True))
        _get(doc, path[:-1])[path[-1]] = "${" + name + "}"
    text = yaml.safe_dump(doc, sort_keys=False)
    if kind == "syntax":
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines)))
        junk = draw(st.sampled_from(["key: [unclosed", "  - {a: ", "\tindent: tab", ": : :",
                                     "k: 'open quote"]))  # fmt: skip
        lines.insert(at, junk)
        text = "\n".join(lines)
    elif kind == "not-a-mapping":
        text = draw(st.sampled_from(["", "- a\n- b\n", "42\n", "just text\n", "null\n"]))
    return text


CASES = {"n": 0}


@settings(max_examples=520, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(malformed_documents())
def test_malformed_config_gives_a_clear_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "local.yaml"
        path.write_text(text)
        try:
            load_settings("local", Path(tmp), environ=ENVIRON)
        except ConfigError as exc:
            assert str(path) in exc.message
            assert exc.hint
            assert int(exc.exit_code) == 2
        else:
            raise AssertionError(f"accepted a malformed file:\n{text}")
    CASES["n"] += 1


def test_property_test_ran_at_least_500_malformed_files() -> None:
    # Runs after the property test in file order; proves the generator was not starved.
    assert CASES["n"] >= 500


def test_the_unmodified_file_is_valid() -> None:
    assert load_settings("local", ROOT / "environments", environ=ENVIRON).settings.chains
