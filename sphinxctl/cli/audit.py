"""`sphinxctl audit`: list the audit trail and verify its hash chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.db import open_store
from sphinxctl.cli.render import emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sphinxctl.store import AuditEvent, VerifyResult

app = typer.Typer(no_args_is_help=True, help="List and verify the hash-chained audit trail.")


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`30m`, `12h`, `7d`, `2w` ago (the grammar of `sphinxctl.durations`), or an ISO date /
    datetime (UTC when no zone is given)."""
    from sphinxctl.durations import parse_seconds
    from sphinxctl.errors import UsageError

    text = value.strip()
    try:
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_seconds(text))
    except ValueError:
        pass  # not a duration: a date or time, then
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid --since value {value!r}",
            hint="use a duration such as 30m, 12h, 7d, or a date/time like 2026-01-31T12:00",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _events_table(events: list[AuditEvent]) -> RenderableType:
    from rich.table import Table

    table = Table(title=f"{len(events)} audit event(s)", title_justify="left")
    for name in ("seq", "time (UTC)", "actor (role)", "action", "target", "result", "hash"):
        fixed = name in ("seq", "time (UTC)", "hash")
        table.add_column(name, no_wrap=fixed, overflow="ellipsis" if fixed else "fold")
    for e in events:
        table.add_row(
            str(e.seq),
            e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{e.actor} ({e.role})",
            e.action,
            e.target,
            e.result,
            e.hash[:10],
        )
    return table


@app.command("list")
def list_events(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="30m, 12h, 7d or an ISO date/time.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor (JWT sub).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")
    ] = 100,
) -> None:
    """The latest audit events (oldest first), optionally filtered."""
    from sphinxctl.store import AuditList

    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    start = parse_since(since) if since else None
    with open_store(state) as store:
        events = store.list_audit(since=start, actor=actor, action=action, limit=limit)
    emit(state, AuditList(events=events), table=lambda: _events_table(events))


def _verify_table(result: VerifyResult) -> RenderableType:
    from rich.text import Text

    if result.ok:
        return Text.assemble(
            ("audit chain intact", "bold green"),
            f": {result.checked} row(s), head seq {result.head_seq}, hash {result.head_hash}",
        )
    assert result.broken is not None
    return Text.assemble(
        ("audit chain BROKEN", "bold red"),
        f" at row seq={result.broken.seq} ({result.checked} row(s) verified before it)",
    )


@app.command()
def verify(ctx: typer.Context) -> None:
    """Walk the hash chain; exit 3 naming the first broken row."""
    from sphinxctl.errors import AuditChainBroken

    state = get_state(ctx)
    state.require_output("table", "json", "yaml")
    with open_store(state) as store:
        result = store.verify_audit()
    emit(state, result, table=lambda: _verify_table(result))
    if result.broken is not None:
        raise AuditChainBroken(
            f"audit chain broken at row seq={result.broken.seq}: {result.broken.reason}",
            hint="Compare with the latest backup (`sphinxctl db backup`) to see what changed.",
            details=result.broken.model_dump(exclude_none=True),
        )
