"""The command tree stays thin and speaks one way (docs/ARCHITECTURE.md, STYLE.md 2 and 6):
every command body is at most 25 lines of logic; results reach stdout only through the CliState
console; every confirmation goes through cli/prompts.py; no import of typer's private click."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "sphinxctl" / "cli"
MAX_BODY_LINES = 25


def _is_command(node: ast.AST) -> bool:
    """A function registered with typer: `@app.command(...)` or `@app.callback(...)`."""
    if not isinstance(node, ast.FunctionDef):
        return False
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in ("command", "callback"):
            return True
    return False


def body_lines(function: ast.FunctionDef, source_lines: list[str]) -> int:
    """Lines of logic in a function's body: every line from the first statement after the
    docstring to the end that holds code (blank and comment-only lines do not count; the
    signature and the docstring are not part of the body)."""
    body = function.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    if not body:
        return 0
    lines = source_lines[body[0].lineno - 1 : function.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def commands() -> list[tuple[str, ast.FunctionDef, list[str]]]:
    found = []
    for path in sorted(CLI.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if _is_command(node):
                assert isinstance(node, ast.FunctionDef)
                found.append((f"{path.name}:{node.name}", node, source.splitlines()))
    return found


def test_the_matchers_tell_a_console_print_from_the_builtin() -> None:
    calls = _calls(ast.parse("print(1)\nstate.err.print(2)\nstate.out.file.write('x')\n"))
    assert calls == ["print", "state.err.print", "state.out.file.write"]
    assert [_matches(c, ("print", ".file.write")) for c in calls] == [True, False, True]


def test_the_counter_skips_the_docstring_blank_lines_and_comments() -> None:
    source = (
        "@app.command()\n"
        "def cmd(\n    ctx: int,\n) -> None:\n"
        '    """Doc\n    string."""\n'
        "    a = 1\n\n    # a comment\n"
        "    b = call(\n        a,\n    )\n"
    )
    node = ast.parse(source).body[0]
    assert _is_command(node) and isinstance(node, ast.FunctionDef)
    assert body_lines(node, source.splitlines()) == 4
    assert not _is_command(ast.parse("def helper() -> None:\n    pass\n").body[0])


def test_every_command_is_found() -> None:
    names = {name for name, _, _ in commands()}
    assert len(names) >= 35
    assert {"deploy.py:contracts", "check.py:check", "infra_rollout.py:rollout"} <= names


@pytest.mark.parametrize("name", [name for name, _, _ in commands()])
def test_every_command_body_is_at_most_25_lines_of_logic(name: str) -> None:
    _, function, lines = next(c for c in commands() if c[0] == name)
    count = body_lines(function, lines)
    assert count <= MAX_BODY_LINES, (
        f"{name} has {count} lines of logic: parse, call one domain function, render "
        "(move the rest to the domain package or a *_view.py module)"
    )


def _calls(tree: ast.AST) -> list[str]:
    """Dotted names of every call in `tree` (`typer.confirm`, `state.out.file.write`, ...)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts = []
            target = node.func
            while isinstance(target, ast.Attribute):
                parts.append(target.attr)
                target = target.value
            if isinstance(target, ast.Name):
                parts.append(target.id)
            names.append(".".join(reversed(parts)))
    return names


def _matches(call: str, forbidden: tuple[str, ...]) -> bool:
    """`name` matches a call by that exact name, `.name` any call ending in it."""
    return any(call.endswith(f) if f.startswith(".") else call == f for f in forbidden)


def _uses(forbidden: tuple[str, ...], *, allowed_in: set[str]) -> dict[str, list[str]]:
    """Per module outside `allowed_in`: the forbidden calls it makes (`sys.*` names: any use)."""
    found: dict[str, list[str]] = {}
    for path in sorted(CLI.glob("*.py")):
        if path.name in allowed_in:
            continue
        source = path.read_text(encoding="utf-8")
        hits = [c for c in _calls(ast.parse(source)) if _matches(c, forbidden)]
        hits += [name for name in forbidden if name.startswith("sys.") and name in source]
        if hits:
            found[path.name] = sorted(set(hits))
    return found


def test_stdout_is_written_only_through_the_cli_state() -> None:
    writers = ("print", "typer.echo", "typer.secho", "sys.stdout", "sys.stderr", ".file.write")
    assert _uses(writers, allowed_in={"context.py"}) == {}


def test_the_consoles_are_built_in_one_place() -> None:
    assert _uses(("Console", ".Console"), allowed_in={"context.py"}) == {}


def test_every_question_goes_through_the_one_prompt_module() -> None:
    assert _uses(("typer.confirm", "typer.prompt"), allowed_in={"prompts.py"}) == {}
    assert _uses(("ConfirmationRequired",), allowed_in={"prompts.py"}) == {}


def test_no_module_of_the_cli_imports_typer_private_click() -> None:
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = {node.module or "", *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names}
            else:
                continue
            assert not any("_click" in name for name in names), path.name
