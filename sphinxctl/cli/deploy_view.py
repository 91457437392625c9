"""Rendering for `sphinxctl deploy`: the cost table, live progress, the question the one
confirmation asks (sphinxctl.cli.prompts), result tables. Imported only when deploy runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Column, Table
from rich.text import Text

from sphinxctl.cli.prompts import confirm, interactive

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from sphinxctl.deploy.models import CostPreview, DeployEvent, DeployResult, VerifyReport
    from sphinxctl.deploy.status import StatusReport

WEI = 10**18


def _native(wei: int | None, token: str) -> str:
    """An amount of the native token, as precise as it is useful."""
    if wei is None:
        return "-"
    value = wei / WEI
    if value == 0:
        text = "0"
    elif value >= 1000:
        text = f"{value:,.0f}"
    elif value >= 1:
        text = f"{value:,.3f}"
    else:
        text = f"{value:.4g}"
    return f"{text} {token}"


def _gas(gas: int) -> str:
    return f"{gas / 1e6:.2f}M" if gas >= 1_000_000 else f"{gas:,}"


def _short(value: str | None, keep: int = 10) -> str:
    if not value:
        return "-"
    return value if len(value) <= 2 * keep else f"{value[:keep]}…{value[-6:]}"


def preview_table(preview: CostPreview) -> RenderableType:
    """The one cost table: per chain transactions, gas, fees, worst-case cost (every
    transaction at its gas limit and max fee), balance and shortfall; then the transactions."""
    from sphinxctl.chains.fees import format_gwei

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0), pad_edge=False)
    for column in ("chain", "id", "txs", "gas", "max fee", "max cost", "balance", "shortfall"):
        table.add_column(column, justify="left" if column == "chain" else "right", no_wrap=True)
    for chain in preview.chains:
        fees = chain.fees
        new, pending = chain.new_transactions, chain.pending_transactions
        short = chain.shortfall_wei
        table.add_row(
            chain.chain + ("" if chain.reachable else " [red]✗[/red]"),
            str(chain.chain_id),
            f"{new}" + (f"+{pending}" if pending else ""),
            _gas(chain.total_gas),
            f"{format_gwei(fees.max_fee_wei)} gwei" if fees else "-",
            _native(chain.max_cost_wei if fees else None, chain.native_token),
            _native(chain.balance_wei, chain.native_token),
            Text(_native(short, chain.native_token), style="bold red")
            if short
            else Text("0", style="green"),
        )
    parts: list[RenderableType] = [
        Text(
            f"{preview.action} plan — environment {preview.environment}, deployer "
            f"{preview.deployer}",
            style="bold",
        ),
        table,
    ]
    steps = Table.grid(padding=(0, 1))
    steps.add_column(no_wrap=True)
    steps.add_column(justify="right", no_wrap=True)
    steps.add_column(ratio=1)
    steps.add_column(justify="right", no_wrap=True)
    marks = {"bound": "*", "journal": "†"}
    for chain in preview.chains:
        fees = chain.fees
        if fees is not None and (chain.new_transactions or chain.pending_transactions):
            parts.append(
                Text(
                    f"  {chain.chain}: base fee {format_gwei(fees.base_fee_wei)} gwei, tip "
                    f"{format_gwei(fees.priority_fee_wei)} gwei, expected cost "
                    f"{_native(chain.expected_cost_wei, chain.native_token)}",
                    style="dim",
                )
            )
        for tx in chain.txs:
            if tx.status in ("new", "pending"):
                steps.add_row(
                    chain.chain, f"#{tx.nonce}", tx.description,
                    f"{tx.gas:,}{marks.get(tx.gas_source, ' ')}",
                )  # fmt: skip
    if steps.row_count:
        parts.append(steps)
        used = {tx.gas_source for chain in preview.chains for tx in chain.txs}
        if "bound" in used:
            parts.append(
                Text(
                    "* target not deployed yet: node estimate of the payload + a "
                    "bound for the role change",
                    style="dim",
                )
            )
        if "journal" in used:
            parts.append(
                Text("† signed before a crash: the saved transaction is re-broadcast", style="dim")
            )
    for chain in preview.chains:
        for note in chain.notes:
            parts.append(Text(f"note: {chain.chain}: {note}", style="yellow"))
    return Group(*parts)


def make_confirm(env: str, yes: bool) -> Callable[[CostPreview], bool]:
    """The deployment's one confirmation (sphinxctl.cli.prompts.confirm) of its cost preview."""

    def ask(preview: CostPreview) -> bool:
        chains = ", ".join(
            c.chain for c in preview.chains if c.new_transactions or c.pending_transactions
        )
        return confirm(
            f"Sign and broadcast {preview.to_send} transactions on {chains}?",
            yes=yes,
            env=env,
            unattended=f"{preview.to_send} transactions would be signed on {env} and no terminal "
            "is attached to confirm them; nothing was signed",
            hint="review the plan with --dry-run, then pass --yes (CI) or run it in a terminal",
            tty=interactive(),  # looked up in this module, where the deploy tests fake a terminal
        )

    return ask


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
                SpinnerColumn(), TextColumn("{task.fields[chain]:<10}"), BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("{task.description}", table_column=Column(no_wrap=True, ratio=1)),
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
        bar_event = self.live and event.chain is not None and event.kind not in ("info", "verify")
        if not bar_event:
            if event.kind in LINE_EVENTS:
                prefix = f"[{event.chain}] " if event.chain else ""
                suffix = f" ({event.tx_hash})" if event.tx_hash and event.kind in HASHED else ""
                style = {"chain-failed": "red", "tx-replaced": "yellow"}.get(event.kind, "dim")
                self.err.print(Text(prefix + event.message + suffix, style=style))
            return
        assert event.chain is not None
        task = self._bar(event.chain, event.total or 0)
        assert self._progress is not None
        message = event.message
        if event.kind == "chain-done":
            message = f"[green]{event.message}[/green]"
        elif event.kind == "chain-failed":
            message = f"[red]{event.message}[/red]"
        elif event.kind in ("tx-replaced", "tx-rebroadcast"):
            self._progress.console.print(Text(f"[{event.chain}] {event.message}", style="yellow"))
        self._progress.update(task, completed=event.done or 0, description=message)


LINE_EVENTS = frozenset(
    {"info", "tx-mined", "tx-replaced", "tx-rebroadcast", "step-skipped", "chain-done",
     "chain-failed", "verify"}
)  # fmt: skip
HASHED = frozenset({"tx-mined", "tx-replaced"})


def _contracts_table(*extra: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0), pad_edge=False)
    table.add_column("contract", no_wrap=True, min_width=23)
    table.add_column("address", no_wrap=True, min_width=42)
    for column in extra:
        table.add_column(column, justify="right", no_wrap=True)
    return table


def _verdict(ok: bool, reason: str | None) -> str:
    return "[green]✓[/green]" if ok else f"[red]✗ {reason}[/red]"


def _line(text: str, style: str = "") -> Text:
    """A line that is never wrapped or cropped (hashes and links stay copyable)."""
    return Text(text, style=style, no_wrap=True, overflow="ignore")


def _heading(text: str) -> Text:
    return Text.from_markup(f"\n{text}")


def result_table(result: DeployResult) -> RenderableType:
    if result.dry_run:
        return Group(
            preview_table(result.preview), Text("dry run: nothing was signed", style="bold")
        )
    checks = {
        (c.chain, c.contract): c
        for c in (result.verification.checks if result.verification else [])
    }
    parts: list[RenderableType] = [
        Text(f"{result.action}: {result.sent} transactions sent", style="bold")
    ]
    for chain, outcome in result.chains.items():
        parts.append(_heading(f"[bold]{chain}[/bold]"))
        table = _contracts_table("verified")
        for contract, address in outcome.contracts.items():
            check = checks.get((chain, contract))
            table.add_row(
                contract, address, "-" if check is None else _verdict(check.ok, check.reason)
            )
        parts.append(table)
    if result.roles:
        parts.append(roles_table(result.roles))
        if not result.deployer_roles_left:
            parts.append(
                Text(f"✓ the deployer {result.preview.deployer} holds no role", style="green")
            )
    parts.append(Text(f"journal: {result.journal}", style="dim"))
    return Group(*parts)


def _role_lines(contract: str, roles: dict[str, list[str]]) -> list[Text]:
    lines = [Text(f"  roles on {contract}:")]
    for role, holders in roles.items():
        for index, holder in enumerate(holders):
            lines.append(_line(f"    {role if index == 0 else '':<19}{holder}"))
    return lines


def roles_table(roles: list[Any]) -> RenderableType:
    parts: list[RenderableType] = [
        _heading("[bold]role graph[/bold] (from RoleGranted/RoleRevoked events)")
    ]
    for graph in roles:
        parts.append(Text(f" {graph.chain}", style="bold"))
        parts += _role_lines(graph.contract, graph.roles)
    return Group(*parts)


def verify_table(report: VerifyReport) -> RenderableType:
    parts: list[RenderableType] = [
        Text(
            f"bytecode verification ({report.environment}): runtime code vs artifact, "
            "immutables masked",
            style="bold",
        )
    ]
    chains = list(dict.fromkeys(check.chain for check in report.checks))
    for chain in chains:
        parts.append(_heading(f"[bold]{chain}[/bold]"))
        table = _contracts_table("result")
        links = []
        for check in (c for c in report.checks if c.chain == chain):
            table.add_row(check.contract, check.address, _verdict(check.ok, check.reason))
            if check.explorer_url:
                links.append(_line(f"  {check.contract}: {check.explorer_url}", style="dim"))
        parts += [table, *links]
    return Group(*parts)


def status_table(report: StatusReport) -> RenderableType:
    """Per chain: a contracts table (✓ = bytecode verified, address, block, confirmations),
    then tx hashes, explorer links and role holders as lines (no room for columns in 80)."""
    parts: list[RenderableType] = []
    for line in report.reconciled or []:
        parts.append(Text(f"reconcile: {line}", style="yellow"))
    if not report.chains:
        parts.append(Text(f"nothing deployed in {report.environment} ({report.journal})"))
    for chain in report.chains:
        head = f"[red]unreachable: {chain.error}[/red]" if chain.error else f"head {chain.head}"
        pending = f", {chain.pending_transactions} pending" if chain.pending_transactions else ""
        nonce = f", nonce {chain.deployer_nonce}" if chain.deployer_nonce is not None else ""
        parts.append(
            _heading(
                f"[bold]{chain.chain}[/bold] (chain id {chain.chain_id}) · {head} · deployer "
                f"{_short(chain.deployer, 6)} · {chain.journaled_transactions} txs{pending}{nonce}"
            )
        )
        table = _contracts_table("block", "conf")
        lines: list[Text] = []
        for c in chain.contracts:
            mark = {True: "[green]✓[/green] ", False: "[red]✗[/red] ", None: "  "}[c.verified]
            table.add_row(
                mark + c.name + (" [dim](local)[/dim]" if c.local_only else ""),
                c.address,
                str(c.block_number or "-"),
                str(c.confirmations if c.confirmations is not None else "-"),
            )
            lines.append(_line(f"  {c.name}"))
            lines.append(_line(f"    tx {c.tx_hash or '-'}", style="dim"))
            for url in (c.explorer_url, c.verify_url):
                if url:
                    lines.append(_line(f"    {url}", style="dim"))
        for c in chain.contracts:
            if c.roles:
                lines += _role_lines(c.name, c.roles)
        parts += [table, *lines]
        if chain.safe:
            state = "admin roles handed over" if chain.handed_over else "not handed over yet"
            parts.append(Text(f"  Safe {chain.safe}: {state}"))
    return Group(*parts)


def sources_table(report: Any) -> Table:
    """The verification files `deploy verify --sources` wrote, and whether each reproduces."""
    table = Table(
        "chain", "contract", "reproduces", "files", title=f"verification files: {report.directory}"
    )
    for check in report.checks:
        verdict = "yes" if check.ok else f"NO: {check.reason}"
        table.add_row(check.chain, check.contract, verdict, check.directory)
        if check.verify_url:
            table.add_row("", "", "submit at", check.verify_url)
    return table
