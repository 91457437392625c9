"""The check registry: one function per automated CHECKLIST.md item, keyed by the item's id.

A check takes the run's CheckContext and returns an Outcome; it may raise Blocked when an item
it depends on (say, the chain's RPC) is what is actually broken, so only that item fails.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sphinxctl.checks.model import Status

if TYPE_CHECKING:
    from sphinxctl.checks.context import CheckContext

DEFAULT_TIMEOUT = 10.0

# Modules holding @check functions, imported on first use of the registry.
CHECK_MODULES = (
    "sphinxctl.checks.items.configuration",
    "sphinxctl.checks.items.chains",
    "sphinxctl.checks.items.contracts",
    "sphinxctl.checks.items.deployment",
    "sphinxctl.checks.items.roles",
    "sphinxctl.checks.items.api",
    "sphinxctl.checks.items.infrastructure",
    "sphinxctl.checks.items.monitoring",
    "sphinxctl.checks.items.backups",
    "sphinxctl.checks.items.launch",
)

# What the checks import lazily, imported once in the calling thread before any check starts:
# two threads importing one package's modules at the same time can dead-lock on its import
# locks (Python raises _DeadlockError), and the imports cost the same CPU either way.
PRELOAD = (
    "web3",
    "kubernetes.config",
    "kubernetes.dynamic",
    "redis",
    "httpx",
    "sphinxctl.auth.keys",
    "sphinxctl.chains.registry",
    "sphinxctl.chains.rpc",
    "sphinxctl.chains.signer",
    "sphinxctl.deploy.encoding",
    "sphinxctl.deploy.plan",
    "sphinxctl.deploy.preflight",
    "sphinxctl.deploy.records",
    "sphinxctl.deploy.roles",
    "sphinxctl.deploy.safe",
    "sphinxctl.deploy.verify",
    "sphinxctl.infra.client",
    "sphinxctl.infra.context",
    "sphinxctl.infra.lint",
    "sphinxctl.infra.queries",
    "sphinxctl.infra.render",
    "sphinxctl.monitoring",
    "sphinxctl.solidity.analysis",
    "sphinxctl.solidity.compiler",
    "sphinxctl.store",
    "sphinxctl.store.engine",
)


@dataclass(frozen=True)
class Outcome:
    """What a check found: a status, the reason, and how to fix it when it is not a pass."""

    status: Status
    reason: str
    hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def passed(reason: str, **details: Any) -> Outcome:
    return Outcome(Status.PASS, reason, None, details)


def failed(reason: str, hint: str, **details: Any) -> Outcome:
    return Outcome(Status.FAIL, reason, hint, details)


def warned(reason: str, hint: str, **details: Any) -> Outcome:
    return Outcome(Status.WARN, reason, hint, details)


def not_applicable(reason: str) -> Outcome:
    return Outcome(Status.SKIP, reason)


def problems_outcome(
    problems: list[str], ok: str, hint: str, *, warnings: list[str] | None = None
) -> Outcome:
    """Fail listing `problems`; else warn listing `warnings`; else pass with `ok`."""
    if problems:
        return failed("; ".join(problems), hint, problems=problems)
    if warnings:
        return warned("; ".join(warnings), hint, warnings=warnings)
    return passed(ok)


class Blocked(Exception):
    """The check cannot be evaluated because item `item_id` is what is broken."""

    def __init__(self, item_id: str, reason: str, hint: str | None = None) -> None:
        super().__init__(f"{item_id}: {reason}")
        self.item_id = item_id
        self.reason = reason
        self.hint = hint


CheckFunction = Callable[["CheckContext"], Outcome]


@dataclass(frozen=True)
class Check:
    """An automated item: its CHECKLIST.md id, check name, function and time budget."""

    id: str
    name: str
    function: CheckFunction
    timeout: float = DEFAULT_TIMEOUT

    @property
    def title(self) -> str:
        doc = (self.function.__doc__ or self.name).strip()
        return doc.splitlines()[0]


_REGISTRY: dict[str, Check] = {}
_loaded = False


def check(
    item_id: str, name: str, *, timeout: float = DEFAULT_TIMEOUT
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the automated check of CHECKLIST item `item_id`."""

    def register(function: CheckFunction) -> CheckFunction:
        if item_id in _REGISTRY:
            raise ValueError(f"check id {item_id} registered twice")
        if any(c.name == name for c in _REGISTRY.values()):
            raise ValueError(f"check name {name} registered twice")
        _REGISTRY[item_id] = Check(item_id, name, function, timeout)
        return function

    return register


def registry() -> dict[str, Check]:
    """Every registered check by item id (imports the check modules on first call)."""
    global _loaded
    if not _loaded:
        for module in (*PRELOAD, *CHECK_MODULES):
            importlib.import_module(module)
        _loaded = True
    return dict(sorted(_REGISTRY.items()))
