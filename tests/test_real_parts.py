"""The fast lane's guard (tests/support/real_parts.py): a test without the `integration` marker
cannot start or use a real part, so `nox -s unit` stays free of them."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.support import real_parts

ROOT = Path(__file__).resolve().parents[1]


def test_an_unmarked_test_may_not_start_a_real_part() -> None:
    with pytest.raises(pytest.fail.Exception, match="uses a real part \\(anvil\\)"):
        real_parts.require_integration("anvil")


def test_an_unmarked_test_may_not_spawn_a_real_binary_even_through_subprocess_run() -> None:
    """promtool is refused before anything is spawned (the binary need not even exist);
    an ordinary executable still runs."""
    with pytest.raises(pytest.fail.Exception, match="not marked integration"):
        subprocess.run(["/usr/bin/promtool", "--version"], capture_output=True)
    with pytest.raises(pytest.fail.Exception, match="\\(solhint\\)"):
        subprocess.run(["node", "node_modules/.bin/solhint", "--version"], capture_output=True)
    with pytest.raises(pytest.fail.Exception, match="\\(amtool\\)"):
        subprocess.run("amtool --version", shell=True, capture_output=True)
    assert subprocess.run(["true"]).returncode == 0


@pytest.mark.integration
def test_a_marked_test_may() -> None:
    real_parts.require_integration("anvil")


def test_outside_a_test_nothing_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/ scripts import the launchers; with no running test the guard stays out of the way."""
    monkeypatch.setattr(real_parts, "_current", None)
    real_parts.require_integration("anvil")


def test_a_mis_marked_test_fails_in_both_lanes_while_a_marked_one_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real pytest run: a real-part fixture requested through another fixture fails the
    unmarked test even after a marked test has already set the part up, and so does an
    unmarked test that spawns a real part itself; the marked test passes."""
    pytester.makeconftest(
        textwrap.dedent(
            """
            import pytest
            from tests.support.real_parts import real_part

            pytest_plugins = ["tests.support.real_parts"]

            @pytest.fixture(scope="session")
            @real_part("redis")
            def fake_server():
                return "redis://127.0.0.1:1/0"

            @pytest.fixture
            def client(fake_server):
                return fake_server
            """
        )
    )
    pytester.makepyfile(
        test_lanes=textwrap.dedent(
            """
            import subprocess
            import pytest

            @pytest.mark.integration
            def test_marked(client):
                assert client.startswith("redis://")

            def test_unmarked_through_a_fixture(client):
                pass

            def test_unmarked_spawning_anvil():
                subprocess.run(["anvil", "--version"])
            """
        )
    )
    pytester.makeini("[pytest]\nmarkers =\n    integration: real parts\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # no plugin is needed: fast start
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE")
    result.assert_outcomes(passed=1, errors=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_unmarked_through_a_fixture*uses a real part (redis)*not marked integration*",
            "*test_unmarked_spawning_anvil*uses a real part (anvil)*",
        ]
    )
    fast = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "not integration")
    fast.assert_outcomes(errors=1, failed=1, deselected=1)
