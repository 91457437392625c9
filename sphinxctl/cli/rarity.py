"""`sphinxctl rarity snapshot`: the rarity snapshot job from the command line (same job, store
records and audit events as POST /api/v1/nfts/{chain}/rarity-snapshot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.options import CrashAt

if TYPE_CHECKING:
    from sphinxctl.cli.context import CliState
    from sphinxctl.platform.gateway import ChainGateway
    from sphinxctl.rarity.jobs import JobView

app = typer.Typer(help="Rarity snapshots: rank the collection, store and publish its root.")


@app.command("snapshot")
def snapshot_command(
    ctx: typer.Context,
    chain: Annotated[
        str, typer.Option("--chain", "-c", help="The chain whose collection to rank.")
    ],
    publish: Annotated[
        bool, typer.Option("--publish", help="Send setRarityRoot with the root.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm publishing without a prompt.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=2000, help="Tokens per read.")
    ] = 500,
    crash_at: CrashAt = None,
) -> None:
    """Read every token's phi score in Multicall3 batches, build and store the Merkle snapshot,
    and with --publish send setRarityRoot once (a rerun resumes an interrupted job)."""
    from sphinxctl.cli.audit_sink import OPERATOR_ROLE, local_operator, ready_store
    from sphinxctl.cli.render import emit
    from sphinxctl.deploy.faults import Faults
    from sphinxctl.rarity.jobs import SnapshotJobs, snapshot

    state = get_state(ctx)
    _check_chain(state, chain)
    if publish:
        _confirm_publish(state.settings().environment, chain, yes)
    with ready_store(state, refusing="no snapshot was taken") as store:
        jobs = SnapshotJobs(
            store, _gateway(state, publish), batch_size=batch_size, faults=Faults(crash_at)
        )
        with _progress(state) as on_progress:
            result = snapshot(
                jobs,
                chain,
                publish=publish,
                actor=local_operator(),
                role=OPERATOR_ROLE,
                on_progress=on_progress,
            )
    emit(state, result, lambda: _table(result))


@app.command("job")
def job_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job id (from `snapshot` or the API).")],
    chain: Annotated[str, typer.Option("--chain", "-c", help="The job's chain.")],
) -> None:
    """Show a snapshot job's status, progress and result (read from the store)."""
    from sphinxctl.cli.db import open_store
    from sphinxctl.cli.render import emit
    from sphinxctl.rarity.jobs import SnapshotJobs

    state = get_state(ctx)
    _check_chain(state, chain)
    with open_store(state) as store:
        result = SnapshotJobs(store, _gateway(state, False)).get(chain, job_id)
    emit(state, result, lambda: _table(result))


def _check_chain(state: CliState, chain: str) -> None:
    from sphinxctl.errors import UsageError

    known = state.settings().chains
    if chain not in known:
        raise UsageError(f"unknown chain {chain!r}", hint=f"use one of: {', '.join(known)}")


def _confirm_publish(env: str, chain: str, yes: bool) -> None:
    from sphinxctl.cli.prompts import confirm

    confirm(
        f"Publish the new rarity root on {chain} ({env})?",
        yes=yes,
        env=env,
        unattended=f"--publish signs setRarityRoot on {chain} ({env}) and no terminal is "
        "attached to confirm it; nothing was read or sent",
        hint="pass --yes (CI) or run it in a terminal",
        declined="publishing not confirmed; nothing was read or sent",
    )


def _gateway(state: CliState, publish: bool) -> ChainGateway:
    from sphinxctl.api.services import DeploymentAddresses, LazyAbis, api_signer
    from sphinxctl.platform.gateway import ChainGateway

    settings, root = state.settings(), state.project_root
    return ChainGateway(
        settings,
        DeploymentAddresses(root, settings.environment).addresses,
        LazyAbis(root).get,
        signer=api_signer(settings, root) if publish else None,
    )


class _progress:
    """A rich progress bar on stderr fed by job updates (silent for -o json/yaml)."""

    def __init__(self, state: CliState) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=state.err,
            transient=True,
            disable=state.output != "table",
        )
        self._task = self._bar.add_task("queued", total=None)

    def __enter__(self) -> Any:
        self._bar.start()

        def update(job: JobView) -> None:
            self._bar.update(
                self._task, description=job.phase, completed=job.done, total=job.total or None
            )

        return update

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


def _table(job: JobView) -> Any:
    from rich.table import Table

    table = Table(title=f"rarity snapshot on {job.chain}", show_header=False)
    for label, value in (
        ("job", job.job_id),
        ("status", job.status),
        ("tokens", f"{job.leaf_count if job.leaf_count is not None else job.done}"),
        ("round trips", str(job.round_trips)),
        ("snapshot", str(job.snapshot_id)),
        ("root", job.root or "-"),
        ("published", f"yes ({job.tx_hash})" if job.published else "no"),
    ):
        table.add_row(label, value)
    return table
