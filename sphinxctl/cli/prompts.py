"""The CLI's one way of asking the operator: a confirmation, and a hidden secret.

Every irreversible command confirms through `confirm`: `--yes` skips the question; with no
terminal to ask and no `--yes` it is a usage error (exit 2, ConfirmationRequired); on mainnet
the operator types the environment's name instead of answering y/n. Prompts go to stderr, so
stdout keeps only the command's result.
"""

from __future__ import annotations

import sys

import typer

from sphinxctl.errors import Aborted, ConfirmationRequired

TYPED_ENVIRONMENTS = frozenset({"mainnet"})


def interactive() -> bool:
    """True when a person can answer a prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


def confirm(
    question: str,
    *,
    yes: bool,
    env: str,
    unattended: str | None = None,
    hint: str | None = None,
    declined: str | None = None,
    tty: bool | None = None,
) -> bool:
    """Ask `question` once; True when confirmed.

    `unattended` is the message when no terminal is attached (default: "<question> needs
    confirmation"), `hint` its hint. With `declined`, a "no" raises Aborted(declined) instead
    of returning False. `tty` overrides the terminal test (callers that keep their own seam).
    """
    if yes:
        return True
    if not (interactive() if tty is None else tty):
        raise ConfirmationRequired(unattended or f"{question} needs confirmation", hint=hint)
    if env in TYPED_ENVIRONMENTS:
        typed = typer.prompt(
            f"{question} Type the environment name ({env}) to confirm",
            default="",
            show_default=False,
            err=True,
        )
        confirmed = str(typed).strip() == env
    else:
        confirmed = bool(typer.confirm(question, default=False, err=True))
    if not confirmed and declined is not None:
        raise Aborted(declined)
    return confirmed


def secret(label: str) -> str:
    """A secret typed at the terminal (never echoed)."""
    return str(typer.prompt(label, hide_input=True, err=True))
