"""Developer sessions. They run in the project's .venv (`bash scripts/setup.sh` creates it):
`nox --no-venv -s lint typecheck tests`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, CLI, contracts, integration against real parts)."""
    # Most tests wait on real parts (anvil, kube-apiserver, Prometheus), not on the two cores:
    # four workers, each test file on one worker so its module fixtures start once.
    args = session.posargs or ["-n", "4", "--dist", "loadfile"]
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *args)


@nox.session
def unit(session: nox.Session) -> None:
    """The fast lane: every test not marked `integration` (no anvil, Redis, PostgreSQL,
    Prometheus, kube-apiserver, podman, forge; tests/support/real_parts.py fails a test that
    starts one without the marker)."""
    # Collection imports every test module (~12 s of CPU): one worker per core pays it once each,
    # then the tests, all CPU-bound, spread one by one.
    args = session.posargs or ["-n", "auto"]
    session.run(
        "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not integration", *args
    )


@nox.session
def lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.run("mypy", "sphinxctl", "tests", "bench", "tools", "noxfile.py")


@nox.session
def image(session: nox.Session) -> None:
    """The API image (Containerfile) without any registry; a no-op when the checkout's image is
    already in podman's storage. A nox session, not a `sphinxctl` command: building needs root,
    debootstrap and buildah, which a release machine has and an operator's laptop need not."""
    session.run("python", "tools/image/build.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on the embedded default: a full local deployment, then its status."""
    session.run("sphinxctl", "-e", "local", "devnet", "up")
    session.run("sphinxctl", "-e", "local", "deploy", "contracts", "--yes")
    session.run("sphinxctl", "-e", "local", "deploy", "verify")
    session.run("sphinxctl", "-e", "local", "deploy", "status")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark in bench/; each prints its figures and its ratio to a baseline."""
    import pathlib

    for script in sorted(pathlib.Path("bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
