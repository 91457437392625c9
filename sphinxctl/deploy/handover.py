"""`deploy handover --to-safe`: move the admin roles to the Safe multisig.

On env `local` without a configured Safe, a Safe 1.4.1 (singleton, proxy factory, proxy with
`multisig.owners` / `multisig.threshold`) is deployed first and recorded. The Safe is checked
(a contract whose getThreshold()/getOwners() match the configuration) before any role moves,
DEFAULT_ADMIN_ROLE and ADMIN_ROLE are granted to it, a second check proves it holds them, then
the deployer renounces every role it holds (DEFAULT_ADMIN_ROLE last). The role graph rebuilt
from RoleGranted/RoleRevoked events proves the deployer holds nothing. Journaled and resumable
like deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sphinxctl.chains.registry import explorer_link
from sphinxctl.chains.rpc import ChainClient
from sphinxctl.deploy.deployment import (
    Confirm,
    DeployRequest,
    EventSink,
    Session,
    compiled_artifacts,
    execute_plans,
    quiet,
    request_signer,
)
from sphinxctl.deploy.executor import Gate
from sphinxctl.deploy.journal import ChainJournal, Journal, JournalLock, SafeRecord, now
from sphinxctl.deploy.models import (
    ChainPlan,
    ChainPreview,
    DeployEvent,
    DeployResult,
    Problem,
    RoleHolders,
)
from sphinxctl.deploy.plan import ROLE_CONTRACTS, build_handover_plan
from sphinxctl.deploy.roles import (
    default_admin_moving_to,
    has_role,
    pending_default_admin,
    role_holders,
    roles_of,
)
from sphinxctl.deploy.safe import check_safe, inspect_safe, load_safe_artifacts
from sphinxctl.deploy.safe_accept import accept_through_devnet_safe, devnet_owner_accounts
from sphinxctl.deploy.steps import ChainView
from sphinxctl.errors import ChainError, ConfigError, PreflightError, TransactionError
from sphinxctl.settings import ChainSettings, Settings

if TYPE_CHECKING:
    from sphinxctl.deploy.audit import DeployAudit


def _handover_gates(session: Session, journal: Journal) -> dict[str, Gate]:
    multisig = session.settings.multisig

    def check(view: ChainView) -> None:
        jc = view.journal
        assert jc is not None and jc.safe is not None
        info = inspect_safe(view.client, jc.safe.address)
        check_safe(view.client.name, info, multisig.owners, multisig.threshold)
        with journal.edit():
            jc.safe.checked_at = now()

    def holds(view: ChainView) -> None:
        jc = view.journal
        assert jc is not None and jc.safe is not None
        for contract in ROLE_CONTRACTS:
            address = jc.contracts[contract].address
            missing = []
            if not has_role(view.client, address, "ADMIN_ROLE", jc.safe.address):
                missing.append("ADMIN_ROLE")
            if not default_admin_moving_to(view.client, address, jc.safe.address):
                missing.append("the pending DEFAULT_ADMIN_ROLE transfer")
            if missing:
                raise TransactionError(
                    f"{view.client.name}: the Safe lacks {' and '.join(missing)} on {contract}; "
                    "the deployer keeps its roles",
                    reference="handover-grant-missing",
                )

    return {"check:safe": check, "check:safe-roles": holds}


def _handover_plan(
    session: Session, chain: ChainSettings, jc: ChainJournal | None, deployer: str
) -> ChainPlan:
    settings = session.settings
    missing = [c for c in ROLE_CONTRACTS if jc is None or c not in jc.contracts]
    if missing:
        raise ChainError(
            f"{chain.name}: {', '.join(missing)} not deployed in environment "
            f"{settings.environment!r}",
            hint="run `sphinxctl deploy contracts` first",
            reference="nothing-deployed",
        )
    assert jc is not None
    client = session.clients[chain.name]
    held = {
        contract: roles_of(
            role_holders(
                client, jc.contracts[contract].address, jc.contracts[contract].block_number or 0
            ),
            deployer,
        )
        for contract in ROLE_CONTRACTS
    }
    configured = settings.multisig.safes.get(chain.name)
    deploy_safe = configured is None and jc.safe is None
    if deploy_safe and settings.environment != "local":
        raise ConfigError(
            f"multisig.safes.{chain.name} is not set for environment {settings.environment!r}",
            hint="create the Safe (app.safe.global) and put its address in the environment file",
            reference="safe-not-configured",
        )
    return build_handover_plan(
        settings, chain, deploy_safe=deploy_safe, contracts=list(ROLE_CONTRACTS), held=held
    )


def handover_to_safe(
    settings: Settings,
    request: DeployRequest,
    *,
    on_event: EventSink | None = None,
    confirm: Confirm | None = None,
    audit: DeployAudit | None = None,
) -> DeployResult:
    """Grant DEFAULT_ADMIN_ROLE and ADMIN_ROLE to the Safe, then renounce every deployer role;
    audited (`deploy.handover`) like `deploy_contracts`."""
    from sphinxctl.deploy.audit import run_audited

    return run_audited(
        "deploy.handover", _handover, settings, request, on_event or quiet, confirm, audit
    )


def _handover(
    settings: Settings, request: DeployRequest, *, on_event: EventSink, confirm: Confirm | None
) -> DeployResult:
    events = on_event
    multisig = settings.multisig
    if not multisig.owners or multisig.threshold > len(multisig.owners):
        raise ConfigError(
            f"multisig needs owners and a threshold <= their number (have {len(multisig.owners)} "
            f"owners, threshold {multisig.threshold})",
            hint="set multisig.owners and multisig.threshold",
            reference="multisig-invalid",
        )
    session = Session(settings, request, events)
    artifacts = compiled_artifacts(settings, session.root, events)
    artifacts.update(load_safe_artifacts(session.root))
    signer = request_signer(settings, request)
    with JournalLock(session.root, settings.environment):
        journal = Journal.open(session.root, settings.environment)
        deployer = signer.address
        plans = {
            chain.name: plan
            for chain, plan in zip(
                session.chains,
                session.parallel(
                    lambda c: _handover_plan(session, c, journal.chain(c.name), deployer)
                ),
                strict=True,
            )
        }
        for chain in session.chains:  # a configured Safe is recorded (and checked) up front
            configured = multisig.safes.get(chain.name)
            jc = journal.chain(chain.name)
            if configured and jc is not None and (jc.safe is None or jc.safe.address != configured):
                with journal.edit():
                    jc.safe = SafeRecord(
                        address=configured,
                        owners=list(multisig.owners),
                        threshold=multisig.threshold,
                        explorer_url=explorer_link(
                            chain, settings.environment, "address", configured
                        ),
                    )

        def safe_preflight(
            chain: ChainSettings, client: ChainClient, preview: ChainPreview
        ) -> None:
            jc = journal.chain(chain.name)
            if jc is not None and jc.safe is not None:
                try:
                    check_safe(
                        chain.name,
                        inspect_safe(client, jc.safe.address),
                        multisig.owners,
                        multisig.threshold,
                    )
                except PreflightError as exc:
                    preview.problems.append(
                        Problem(
                            chain=chain.name,
                            reference=exc.reference,
                            message=exc.message,
                            hint=exc.hint,
                        )
                    )

        result = execute_plans(
            session,
            "handover",
            plans,
            journal,
            artifacts,
            signer,
            confirm,
            gates=_handover_gates(session, journal),
            extra_checks=safe_preflight,
        )
        if request.dry_run:
            return result
        if settings.environment == "local":
            _accept_on_devnet(session, journal, events)
        result.roles, left = _role_report(session, journal, deployer)
        result.deployer_roles_left = left
        if left:
            raise ChainError(
                f"the deployer still holds roles: {', '.join(left)}",
                hint="rerun `sphinxctl deploy handover --to-safe`",
                reference="handover-incomplete",
            )
        with journal.edit() as doc:
            for chain in session.chains:
                doc.chains[chain.name].handed_over = True
                doc.chains[chain.name].handed_over_at = (
                    doc.chains[chain.name].handed_over_at or now()
                )
        return result


def _accept_on_devnet(session: Session, journal: Journal, events: EventSink) -> None:
    """The devnet Safe's owners are public anvil accounts: accept the admin transfers now."""
    multisig = session.settings.multisig
    owners = devnet_owner_accounts(multisig.owners)

    def one(chain: ChainSettings) -> None:
        jc = journal.chain(chain.name)
        assert jc is not None and jc.safe is not None
        for contract in ROLE_CONTRACTS:
            address = jc.contracts[contract].address
            client = session.clients[chain.name]
            if accept_through_devnet_safe(
                client, jc.safe.address, address, owners, multisig.threshold
            ):
                events(
                    DeployEvent(
                        kind="info",
                        chain=chain.name,
                        message=f"the Safe accepted DEFAULT_ADMIN_ROLE on {contract}",
                    )
                )

    session.parallel(one)


def _role_report(
    session: Session, journal: Journal, deployer: str
) -> tuple[list[RoleHolders], list[str]]:
    def one(chain: ChainSettings) -> list[RoleHolders]:
        jc = journal.chain(chain.name)
        assert jc is not None
        graphs = []
        for contract in ROLE_CONTRACTS:
            record = jc.contracts[contract]
            graph = role_holders(
                session.clients[chain.name], record.address, record.block_number or 0
            )
            graphs.append(
                RoleHolders(
                    chain=chain.name, contract=contract, address=record.address, roles=graph
                )
            )
        return graphs

    graphs = [g for found in session.parallel(one) for g in found]
    left = []
    for g in graphs:
        for role in roles_of(g.roles, deployer):
            client = session.clients[g.chain]
            if role == "DEFAULT_ADMIN_ROLE" and pending_default_admin(client, g.address):
                continue  # leaves when the Safe accepts the started transfer (after the delay)
            left.append(f"{g.chain} {g.contract} {role}")
    return graphs, left
