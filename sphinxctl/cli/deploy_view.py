"""Rendering for `sphinxctl deploy` and `sphinxctl devnet`: the cost table, live progress, the
confirmation prompt, result tables. Imported only when those commands run."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from sphinxctl.errors import ConfirmationRequired

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from sphinxctl.chains.devnet import DevnetStatus
    from sphinxctl.deploy.models import CostPreview, DeployEvent, DeployResult, VerifyReport
    from sphinxctl.deploy.status import StatusReport

WEI = 10**18


def _native(wei: int | None, token: str) -> str:
    return "-" if wei is None else f"{wei / WEI:,.6f} {token}"


def _short(value: str | None, keep: int = 10) -> str:
    if not value:
        return "-"
    return value if len(value) <= 2 * keep else f"{value[:keep]}…{value[-6:]}"


def preview_table(preview: CostPreview) -> RenderableType:
    """The one cost table: per chain transactions, gas, fees, worst-case cost, balance and
    shortfall."""
    from sphinxctl.chains.fees import format_gwei

    table = Table(
        title=f"{preview.action} plan — environment {preview.environment}, "
        f"deployer {preview.deployer}",
        title_justify="left",
    )
    for column in (
        "chain",
        "chain id",
        "txs",
        "gas",
        "base fee",
        "max fee",
        "max cost",
        "balance",
        "shortfall",
    ):
        table.add_column(column, justify="left" if column == "chain" else "right")
    for chain in preview.chains:
        fees = chain.fees
        new, pending = chain.new_transactions, chain.pending_transactions
        done = sum(1 for tx in chain.txs if tx.status in ("done", "skip"))
        txs = (
            f"{new}"
            + (f" +{pending} resumed" if pending else "")
            + (f" ({done} done)" if done else "")
        )
        short = chain.shortfall_wei
        table.add_row(
            f"{chain.display_name}" + ("" if chain.reachable else " [red](unreachable)[/red]"),
            str(chain.chain_id),
            txs,
            f"{chain.total_gas:,}",
            f"{format_gwei(fees.base_fee_wei)} gwei" if fees else "-",
            f"{format_gwei(fees.max_fee_wei)} gwei" if fees else "-",
            _native(chain.max_cost_wei, chain.native_token),
            _native(chain.balance_wei, chain.native_token),
            Text(_native(short, chain.native_token), style="bold red")
            if short
            else Text("0", style="green"),
        )
    parts: list[RenderableType] = [table]
    steps = Table.grid(padding=(0, 2))
    for chain in preview.chains:
        for tx in chain.txs:
            if tx.status in ("new", "pending"):
                source = {"bound": " (bound: target not deployed yet)", "journal": " (saved)"}.get(
                    tx.gas_source, ""
                )
                steps.add_row(
                    chain.chain, f"#{tx.nonce}", tx.description, f"{tx.gas:,} gas{source}"
                )
    if steps.row_count:
        parts.append(steps)
    for chain in preview.chains:
        for note in chain.notes:
            parts.append(Text(f"note: {chain.chain}: {note}", style="yellow"))
    return Group(*parts)


def interactive() -> bool:
    """True when a person can answer a prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


def make_confirm(err: Console, env: str, yes: bool) -> Any:
    """The single confirmation: --yes, else a TTY prompt (mainnet: type the environment name)."""

    def confirm(preview: CostPreview) -> bool:
        if yes:
            return True
        if not interactive():
            raise ConfirmationRequired(
                f"{preview.to_send} transactions would be signed on {env} and no terminal is "
                "attached to confirm them; nothing was signed",
                hint="review the plan with --dry-run, then pass --yes (CI) or run it in a terminal",
            )
        chains = ", ".join(
            c.chain for c in preview.chains if c.new_transactions or c.pending_transactions
        )
        if env == "mainnet":
            typed = typer.prompt(
                f"Sign and broadcast {preview.to_send} transactions on {chains}? "
                f"Type the environment name ({env}) to confirm",
                default="",
                show_default=False,
                err=True,
            )
            return bool(typed.strip() == env)
        return bool(
            typer.confirm(
                f"Sign and broadcast {preview.to_send} transactions on {chains}?",
                default=False,
                err=True,
            )
        )

    return confirm


class DeployProgress:
    """Renders DeployEvents: the preview table, then one progress bar per chain (rich), or one
    line per event when stderr is not a terminal (CI logs)."""

    def __init__(self, err: Console, *, show_preview: bool = True) -> None:
        self.err = err
        self.show_preview = show_preview
        self.live = err.is_terminal
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> DeployProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _bar(self, chain: str, total: int) -> Any:
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.fields[chain]:<10}"), BarColumn(),
                MofNCompleteColumn(), TextColumn("{task.description}"),
                console=self.err, transient=False,
            )  # fmt: skip
            self._progress.start()
        if chain not in self._tasks:
            self._tasks[chain] = self._progress.add_task("starting", total=total, chain=chain)
        return self._tasks[chain]

    def __call__(self, event: DeployEvent) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: DeployEvent) -> None:
        if event.kind == "preview":
            if self.show_preview and event.preview is not None:
                self.err.print(preview_table(event.preview))
            return
        if event.kind == "info" or not self.live or event.chain is None:
            if event.kind in (
                "info",
                "tx-sent",
                "tx-mined",
                "tx-replaced",
                "tx-rebroadcast",
                "step-skipped",
                "chain-done",
                "chain-failed",
                "verify",
            ):
                prefix = f"[{event.chain}] " if event.chain else ""
                style = {"chain-failed": "red", "tx-replaced": "yellow"}.get(event.kind, "dim")
                self.err.print(Text(prefix + event.message, style=style))
            return
        task = self._bar(event.chain, event.total or 0)
        assert self._progress is not None
        message = event.message
        if event.kind == "chain-done":
            message = "[green]done[/green]"
        elif event.kind == "chain-failed":
            message = f"[red]{event.message}[/red]"
        self._progress.update(task, completed=event.done or 0, description=message)


def result_table(result: DeployResult) -> RenderableType:
    if result.dry_run:
        return Group(
            preview_table(result.preview), Text("dry run: nothing was signed", style="bold")
        )
    table = Table(
        title=f"{result.action}: {result.sent} transactions sent (journal {result.journal})",
        title_justify="left",
    )
    for column in ("chain", "contract", "address", "verified"):
        table.add_column(column)
    checks = {
        (c.chain, c.contract): c
        for c in (result.verification.checks if result.verification else [])
    }
    for chain, outcome in result.chains.items():
        for contract, address in outcome.contracts.items():
            check = checks.get((chain, contract))
            verdict = (
                "-"
                if check is None
                else ("[green]✓[/green]" if check.ok else f"[red]✗ {check.reason}[/red]")
            )
            table.add_row(chain, contract, address, verdict)
    parts: list[RenderableType] = [table]
    if result.roles:
        parts.append(roles_table(result.roles))
        if not result.deployer_roles_left:
            parts.append(
                Text(f"✓ the deployer {result.preview.deployer} holds no role", style="green")
            )
    return Group(*parts)


def roles_table(roles: list[Any]) -> RenderableType:
    table = Table(title="role graph (from RoleGranted/RoleRevoked events)", title_justify="left")
    for column in ("chain", "contract", "role", "holders"):
        table.add_column(column)
    for graph in roles:
        for role, holders in graph.roles.items():
            table.add_row(graph.chain, graph.contract, role, "\n".join(holders))
    return table


def verify_table(report: VerifyReport) -> RenderableType:
    table = Table(title=f"bytecode verification — {report.environment}", title_justify="left")
    for column in ("chain", "contract", "address", "result", "explorer"):
        table.add_column(column)
    for check in report.checks:
        verdict = (
            "[green]✓ matches artifact[/green]" if check.ok else f"[red]✗ {check.reason}[/red]"
        )
        table.add_row(
            check.chain, check.contract, check.address, verdict, check.explorer_url or "-"
        )
    return table


def status_table(report: StatusReport) -> RenderableType:
    parts: list[RenderableType] = []
    if report.reconciled:
        for line in report.reconciled:
            parts.append(Text(f"reconcile: {line}", style="yellow"))
    if not report.chains:
        parts.append(Text(f"nothing deployed in {report.environment} ({report.journal})"))
    for chain in report.chains:
        head = "unreachable: " + chain.error if chain.error else f"head {chain.head}"
        title = (
            f"{chain.chain} (chain id {chain.chain_id}) — {head} — deployer {chain.deployer}, "
            f"{chain.journaled_transactions} transactions journaled"
            + (f", {chain.pending_transactions} pending" if chain.pending_transactions else "")
            + (
                f", nonce on chain {chain.deployer_nonce}"
                if chain.deployer_nonce is not None
                else ""
            )
        )
        table = Table(title=title, title_justify="left")
        for column in (
            "contract",
            "address",
            "tx",
            "block",
            "conf.",
            "verified",
            "roles",
            "explorer",
        ):
            table.add_column(column)
        for c in chain.contracts:
            roles = "\n".join(
                f"{role}: {', '.join(_short(h, 6) for h in holders)}"
                for role, holders in c.roles.items()
            )
            verified = {True: "[green]✓[/green]", False: "[red]✗[/red]", None: "-"}[c.verified]
            table.add_row(
                c.name + (" [dim](local)[/dim]" if c.local_only else ""),
                c.address,
                _short(c.tx_hash),
                str(c.block_number or "-"),
                str(c.confirmations if c.confirmations is not None else "-"),
                verified,
                roles or "-",
                c.explorer_url or "-",
            )
        parts.append(table)
        if chain.safe:
            state = "roles handed over" if chain.handed_over else "not handed over yet"
            parts.append(Text(f"  Safe {chain.safe} — {state}"))
    return Group(*parts)


def devnet_table(status: DevnetStatus) -> RenderableType:
    table = Table(title=f"devnet — state in {status.state_dir}", title_justify="left")
    for column in ("chain", "chain id", "url", "state", "pid", "block", "note"):
        table.add_column(column)
    for node in status.nodes:
        state = "[green]running[/green]" if node.running else "[red]stopped[/red]"
        table.add_row(
            node.chain,
            str(node.chain_id),
            node.url,
            state,
            str(node.pid or "-"),
            str(node.block_number if node.block_number is not None else "-"),
            node.note or "",
        )
    return table
