"""The one error tree: every user-facing failure is a SphinxError.

Each error carries a message (what went wrong), a short kebab-case reference, a hint (what to do
about it) and an exit code. The CLI renders them in exactly one place (cli/app.py); the API maps
them to JSON error bodies. Domain code raises these and never prints or exits.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Stable process exit codes (documented in the README)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CHECKS_FAILED = 3
    CHAIN = 4
    KUBERNETES = 5
    INTERRUPTED = 130


class SphinxError(Exception):
    """Base of every user-facing failure."""

    reference: str = "sphinx-error"
    exit_code: ExitCode = ExitCode.ERROR
    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        reference: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        if reference is not None:
            self.reference = reference
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (for `-o json` and API error bodies)."""
        body: dict[str, Any] = {
            "error": self.reference,
            "message": self.message,
            "exit_code": int(self.exit_code),
        }
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body

    def __rich__(self) -> Any:
        from rich.text import Text  # noqa: TID251 — lazy; only the CLI renders errors with rich

        text = Text()
        text.append("error", style="bold red")
        text.append(f" [{self.reference}]: ", style="red")
        text.append(self.message)
        if self.hint:
            text.append("\nhint: ", style="bold cyan")
            text.append(self.hint)
        return text


class UsageError(SphinxError):
    """The command line itself is wrong (bad option value, missing argument)."""

    reference = "usage"
    exit_code = ExitCode.USAGE


class ConfigError(SphinxError):
    """The environment's configuration is missing, malformed or invalid."""

    reference = "config-invalid"
    exit_code = ExitCode.USAGE
    default_hint = "Fix the file named above, then run `sphinxctl config validate`."


class MissingVariableError(ConfigError):
    """A `${VAR}` reference in an environment file names an unset variable."""

    reference = "config-missing-variable"


class CompileError(SphinxError):
    """Solidity compilation failed (syntax or type error, missing compiler)."""

    reference = "compile-failed"
    exit_code = ExitCode.ERROR


class ChainError(SphinxError):
    """An RPC endpoint, chain id, balance, fee or transaction problem."""

    reference = "chain-error"
    exit_code = ExitCode.CHAIN


class PreflightError(ChainError):
    """A deployment was refused before anything was signed."""

    reference = "preflight-failed"


class TransactionError(ChainError):
    """A transaction reverted, was dropped or could not be sent."""

    reference = "transaction-failed"


class ConfirmationRequired(SphinxError):
    """An irreversible action needs confirmation and none could be given (no TTY, no --yes)."""

    reference = "confirmation-required"
    exit_code = ExitCode.USAGE
    default_hint = "Run it from a terminal to confirm interactively, or pass --yes."


class Aborted(SphinxError):
    """The operator declined a confirmation."""

    reference = "aborted"
    exit_code = ExitCode.ERROR


class KubernetesError(SphinxError):
    """The Kubernetes API refused or failed a request."""

    reference = "kubernetes-error"
    exit_code = ExitCode.KUBERNETES


class ManifestRejected(KubernetesError):
    """The API server's schema refuses a rendered object (unknown field, immutable field):
    a fault of the manifests or the change, not of the cluster, so no retry helps."""

    reference = "manifest-rejected"
    exit_code = ExitCode.USAGE


class AuthError(SphinxError):
    """A token was rejected, or key material is missing or too weak."""

    reference = "auth-failed"
    exit_code = ExitCode.ERROR


class TokenRejected(AuthError):
    """A bearer token failed verification; `reason` is a stable machine label ('expired', ...)."""

    def __init__(self, reason: str, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("reference", f"token-{reason}")
        super().__init__(message, **kwargs)
        self.reason = reason
        self.details.setdefault("reason", reason)


class StoreError(SphinxError):
    """The database is unreachable, unmigrated, or an audit chain is broken."""

    reference = "store-error"
    exit_code = ExitCode.ERROR
    unavailable: bool = False


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (the API answers 503; retry later)."""

    reference = "store-unavailable"
    unavailable = True
    default_hint = "Check that the database is running and reachable: `sphinxctl db status`."


class AuditChainBroken(StoreError):
    """`audit verify` found a row whose hash or link does not match (tampering or loss)."""

    reference = "audit-chain-broken"
    exit_code = ExitCode.CHECKS_FAILED


class ChecksFailed(SphinxError):
    """One or more readiness checks failed."""

    reference = "checks-failed"
    exit_code = ExitCode.CHECKS_FAILED


class RolloutRolledBack(ChecksFailed):
    """A canary failed its metric analysis and was rolled back (exit 3, like failed checks)."""

    reference = "rollout-rolled-back"


class RolloutPaused(SphinxError):
    """A rollout stopped without a verdict (Prometheus unreachable): nothing was promoted."""

    reference = "rollout-paused"
    exit_code = ExitCode.ERROR
    default_hint = "fix the cause, then run `sphinxctl infra rollout` again to resume the step"


class MonitoringError(SphinxError):
    """Alert rules, their promtool tests or dashboards are missing, malformed or unusable."""

    reference = "monitoring-invalid"
    exit_code = ExitCode.ERROR


class PromtoolMissing(MonitoringError):
    """promtool (Prometheus's rule checker) is not installed or cannot run."""

    reference = "promtool-missing"
    default_hint = "Install Debian's `prometheus` package (it ships promtool) or put it on PATH."
