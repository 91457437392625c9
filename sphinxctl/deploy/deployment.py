"""`deploy contracts` and `deploy handover`: compile, plan, preflight, one confirmation,
parallel execution, verification.

    result = deploy_contracts(settings, DeployRequest(project_root=root), on_event=print,
                              confirm=lambda preview: True)

`confirm` receives the cost preview once, only when something is about to be signed; returning
False aborts before signing. Without `confirm`, nothing is signed (ConfirmationRequired).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, SecretStr

from sphinxctl.chains.registry import select_chains
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.chains.signer import Signer, load_signer
from sphinxctl.deploy.executor import ChainRun, Gate, run_chains
from sphinxctl.deploy.faults import Faults
from sphinxctl.deploy.journal import Journal, JournalLock, now
from sphinxctl.deploy.models import (
    ChainOutcome,
    ChainPlan,
    ChainPreview,
    ContractCheck,
    CostPreview,
    DeployEvent,
    DeployResult,
    Phase,
    Problem,
    VerifyReport,
)
from sphinxctl.deploy.plan import build_deploy_plan
from sphinxctl.deploy.preflight import preflight_chains
from sphinxctl.deploy.safe import RECORDED_AS, load_safe_artifacts
from sphinxctl.deploy.verify import verify_chain
from sphinxctl.errors import (
    Aborted,
    ChainError,
    ChecksFailed,
    ConfirmationRequired,
    PreflightError,
    TransactionError,
)
from sphinxctl.settings import ChainSettings, Settings

if TYPE_CHECKING:
    from sphinxctl.deploy.audit import DeployAudit
from sphinxctl.solidity.artifacts import Artifact

EventSink = Callable[[DeployEvent], None]
T = TypeVar("T")
Confirm = Callable[[CostPreview], bool]


class DeployRequest(BaseModel):
    """What `deploy contracts` / `deploy handover` was asked to do."""

    project_root: Path
    chains: list[str] | None = None
    dry_run: bool = False
    crash_at: str | None = None
    password: SecretStr | None = None


def quiet(_event: DeployEvent) -> None:
    return None


def info_sink(on_event: EventSink) -> Callable[[str], None]:
    return lambda message: on_event(DeployEvent(kind="info", message=message))


def compiled_artifacts(settings: Settings, root: Path, on_event: EventSink) -> dict[str, Artifact]:
    from sphinxctl.solidity.compiler import compile_contracts

    return dict(compile_contracts(root, on_event=info_sink(on_event)).artifacts)


def preflight_error(problems: list[Problem]) -> PreflightError:
    """One error listing every problem; its reference is the problems' common one, if any."""
    references = {problem.reference for problem in problems}
    lines = [problem.message for problem in problems]
    hints = list(dict.fromkeys(problem.hint for problem in problems if problem.hint))
    return PreflightError(
        lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n  - " + "\n  - ".join(lines),
        hint="; ".join(hints) if hints else None,
        reference=references.pop() if len(references) == 1 else "preflight-failed",
        details={"problems": [problem.model_dump() for problem in problems]},
    )


def _failure(outcomes: dict[str, ChainOutcome], action: str) -> ChainError:
    failed = [o for o in outcomes.values() if not o.ok]
    done = [o.chain for o in outcomes.values() if o.ok]
    message = "; ".join(f"{o.error}" for o in failed)
    if done:
        message += f" (completed: {', '.join(done)})"
    references = {o.error_reference for o in failed}
    return TransactionError(
        message,
        hint=(failed[0].hint or "") + f" — rerun `sphinxctl deploy {action}` to resume: "
        "finished steps are skipped, pending transactions are re-broadcast from the journal",
        reference=references.pop()
        if len(references) == 1 and None not in references
        else "deploy-incomplete",
        details={"chains": {o.chain: o.model_dump() for o in outcomes.values()}},
    )


class Session:
    """State shared by the steps of one deploy/handover invocation."""

    def __init__(self, settings: Settings, request: DeployRequest, on_event: EventSink) -> None:
        self.settings = settings
        self.request = request
        self.root = request.project_root
        self.on_event = on_event
        self.faults = Faults(request.crash_at)
        self.chains = select_chains(settings, request.chains)
        if settings.environment == "local":
            from sphinxctl.chains.devnet import ensure_devnet

            local = {c.name for c in self.chains if c.devnet_port is not None}
            if local:
                ensure_devnet(settings, self.root, notify=info_sink(on_event))
        self.clients = {chain.name: ChainClient(chain) for chain in self.chains}

    def parallel(self, work: Callable[[ChainSettings], T]) -> list[T]:
        with ThreadPoolExecutor(max_workers=len(self.chains)) as pool:
            return list(pool.map(work, self.chains))


def execute_plans(
    session: Session,
    action: Phase,
    plans: dict[str, ChainPlan],
    journal: Journal,
    artifacts: dict[str, Artifact],
    signer: Signer,
    confirm: Confirm | None,
    *,
    gates: dict[str, Gate] | None = None,
    extra_checks: Callable[[ChainSettings, ChainClient, ChainPreview], None] | None = None,
) -> DeployResult:
    settings = session.settings
    items = [
        (chain, session.clients[chain.name], plans[chain.name], journal.chain(chain.name))
        for chain in session.chains
    ]
    previews = preflight_chains(
        settings.environment, items, signer.address, artifacts, extra_checks
    )
    preview = CostPreview(
        environment=settings.environment, action=action, deployer=signer.address, chains=previews
    )
    session.on_event(DeployEvent(kind="preview", message="cost preview", preview=preview))
    result = DeployResult(
        environment=settings.environment,
        action=action,
        dry_run=session.request.dry_run,
        journal=str(journal.path),
        preview=preview,
    )
    if preview.problems:
        raise preflight_error(preview.problems)
    if session.request.dry_run:
        return result
    reset = [p.chain for p in previews if p.reset_detected]
    if reset:
        saved = journal.archive_chains(reset, "reset")
        info_sink(session.on_event)(
            f"{', '.join(reset)}: devnet reset; old journal kept in {saved}"
        )
    if preview.to_send:
        if confirm is None:
            raise ConfirmationRequired(
                f"{preview.to_send} transactions need confirmation and none can be given"
            )
        if not confirm(preview):
            raise Aborted("cancelled by the operator; nothing was signed")
    genesis = {p.chain: p.genesis_hash for p in previews}
    runs = [
        ChainRun(
            environment=settings.environment,
            chain=chain,
            client=session.clients[chain.name],
            signer=signer,
            journal=journal,
            plan=plans[chain.name],
            artifacts=artifacts,
            on_event=session.on_event,
            faults=session.faults,
            gates=gates or {},
            genesis_hash=genesis.get(chain.name),
            safe_owners=list(settings.multisig.owners),
            safe_threshold=settings.multisig.threshold,
        )
        for chain in session.chains
    ]
    outcomes = run_chains(runs)
    result.chains = outcomes
    result.sent = sum(o.sent for o in outcomes.values())
    if not all(o.ok for o in outcomes.values()):
        raise _failure(outcomes, "contracts" if action == "deploy" else "handover --to-safe")
    return result


def request_signer(settings: Settings, request: DeployRequest) -> Signer:
    return load_signer(settings.deployer, request.project_root, password=request.password)


def verify_journal(
    session: Session, journal: Journal, artifacts: dict[str, Artifact]
) -> VerifyReport:
    """Compare every recorded contract's code with its artifact; store the verdicts."""
    chains = journal.document.chains.values()
    if any(name in jc.contracts for jc in chains for name in RECORDED_AS):
        artifacts = {**artifacts, **load_safe_artifacts(session.root)}

    def one(chain: ChainSettings) -> list[ContractCheck]:
        jc = journal.chain(chain.name)
        return verify_chain(session.clients[chain.name], jc, artifacts) if jc else []

    checks = [check for found in session.parallel(one) for check in found]
    with journal.edit() as doc:
        for check in checks:
            record = doc.chains[check.chain].contracts[check.contract]
            record.verified = check.ok
            record.verified_at = now()
    for check in checks:
        session.on_event(
            DeployEvent(
                kind="verify",
                chain=check.chain,
                message=f"{check.contract}: {'verified' if check.ok else check.reason}",
            )
        )
    return VerifyReport(environment=session.settings.environment, checks=checks)


def _require_verified(report: VerifyReport) -> None:
    bad = [c for c in report.checks if not c.ok]
    if bad:
        raise ChecksFailed(
            "bytecode verification failed: "
            + "; ".join(f"{c.chain} {c.contract} at {c.address}: {c.reason}" for c in bad),
            hint="the code on chain is not what this repository compiles: check the compiler "
            "settings and sources, and investigate before using these addresses",
            reference="verify-mismatch",
            details={"checks": [c.model_dump() for c in bad]},
        )


def deploy_contracts(
    settings: Settings,
    request: DeployRequest,
    *,
    on_event: EventSink | None = None,
    confirm: Confirm | None = None,
    audit: DeployAudit | None = None,
) -> DeployResult:
    """Deploy (or resume deploying) the platform's contracts on the requested chains, audited
    (`deploy.contracts`) when a database is configured: by `audit` if given, else by a recorder
    opened here (StoreError `audit-incomplete` at the end if some events were not written)."""
    from sphinxctl.deploy.audit import run_audited

    return run_audited(
        "deploy.contracts", _deploy, settings, request, on_event or quiet, confirm, audit
    )


def _deploy(
    settings: Settings, request: DeployRequest, *, on_event: EventSink, confirm: Confirm | None
) -> DeployResult:
    events = on_event
    session = Session(settings, request, events)
    artifacts = compiled_artifacts(settings, session.root, events)
    plans = {chain.name: build_deploy_plan(settings, chain) for chain in session.chains}
    with JournalLock(session.root, settings.environment):
        journal = Journal.open(session.root, settings.environment)
        result = execute_plans(
            session,
            "deploy",
            plans,
            journal,
            artifacts,
            request_signer(settings, request),
            confirm,
        )
        if request.dry_run:
            return result
        report = verify_journal(session, journal, artifacts)
        result.verification = report
        _require_verified(report)
        return result


def deploy_verify(
    settings: Settings,
    project_root: Path,
    chains: list[str] | None = None,
    on_event: EventSink | None = None,
) -> VerifyReport:
    """`sphinxctl deploy verify`: runtime code vs artifacts for every recorded contract."""
    events = on_event or quiet
    session = Session(settings, DeployRequest(project_root=project_root, chains=chains), events)
    artifacts = compiled_artifacts(settings, project_root, events)
    with JournalLock(project_root, settings.environment):
        journal = Journal.open(project_root, settings.environment)
        if not any(journal.chain(c.name) for c in session.chains):
            raise ChainError(
                f"nothing is deployed in environment {settings.environment!r}",
                hint="run `sphinxctl deploy contracts` first",
                reference="nothing-deployed",
            )
        report = verify_journal(session, journal, artifacts)
    _require_verified(report)
    return report
