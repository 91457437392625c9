"""Keys and multisig: who holds which role on every contract, and what the Safe looks like."""

from __future__ import annotations

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.items.configuration import deployer_address
from sphinxctl.checks.registry import Blocked, Outcome, check, problems_outcome
from sphinxctl.solidity.names import NFT, VAULT


@check("KEY-006", "multisig-config")
def multisig_config(ctx: CheckContext) -> Outcome:
    """Owners listed and distinct, 2 <= threshold <= owners, the deployer is not an owner."""
    multisig = ctx.settings.multisig
    owners = [o.lower() for o in multisig.owners]
    problems = []
    if not owners:
        problems.append("multisig.owners is empty")
    if len(set(owners)) != len(owners):
        problems.append("multisig.owners lists an owner twice")
    if multisig.threshold < 2:
        problems.append(f"threshold {multisig.threshold}: one key could act alone (need >= 2)")
    if owners and multisig.threshold > len(set(owners)):
        problems.append(f"threshold {multisig.threshold} exceeds the {len(set(owners))} owners")
    try:
        deployer = deployer_address(ctx).lower()
    except Blocked:
        if not problems:
            raise
    else:
        if deployer in owners:
            problems.append(f"the deployer {deployer} is a Safe owner")
    return problems_outcome(
        problems,
        f"{multisig.threshold} of {len(owners)} owners, deployer not among them",
        "fix the multisig section: distinct owners on hardware wallets, threshold 2..owners",
    )


ADMIN_ROLES = ("DEFAULT_ADMIN_ROLE", "ADMIN_ROLE")
# Role -> (contract that has it, settings list of its holders)
HOLDER_ROLES = {
    "OPERATOR_ROLE": (VAULT, "operators"),
    "MINTER_ROLE": (NFT, "minters"),
}
HANDOVER_HINT = (
    "run `sphinxctl -e {env} deploy handover --to-safe` (resumable), then rerun the check"
)


def role_contracts() -> tuple[str, ...]:
    from sphinxctl.deploy.plan import ROLE_CONTRACTS

    return tuple(ROLE_CONTRACTS)


def safe_address(ctx: CheckContext, chain: str) -> str:
    """The chain's Safe: configured, else the one `deploy handover` recorded."""
    from sphinxctl.checks.items.deployment import deployment_record

    configured = ctx.settings.multisig.safes.get(chain)
    if configured:
        return configured
    deployed = deployment_record(ctx).chains.get(chain)
    if deployed is None or deployed.safe_address is None:
        raise Blocked("KEY-001", f"{chain}: no Safe configured or recorded")
    return deployed.safe_address


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


@check("KEY-001", "safe-holds-admin")
def safe_holds_admin(ctx: CheckContext) -> Outcome:
    """Only the configured Safe holds DEFAULT_ADMIN_ROLE and ADMIN_ROLE on every contract."""
    from sphinxctl.checks.items.deployment import role_graph

    problems = []
    for chain in ctx.settings.chains:
        try:
            safe = safe_address(ctx, chain)
        except Blocked as blocked:
            if blocked.item_id != "KEY-001":
                raise
            problems.append(blocked.reason)
            continue
        for contract in role_contracts():
            graph = role_graph(ctx, chain, contract)
            for role in ADMIN_ROLES:
                holders = graph.get(role, [])
                if not any(_same(h, safe) for h in holders):
                    problems.append(f"{chain} {contract}: the Safe does not hold {role}")
                others = [h for h in holders if not _same(h, safe)]
                if others:
                    problems.append(f"{chain} {contract}: {role} also held by {', '.join(others)}")
    return problems_outcome(
        problems,
        "the Safe alone holds the admin roles on every contract and chain",
        HANDOVER_HINT.format(env=ctx.env) + "; revoke foreign holders through the Safe",
    )


@check("KEY-002", "safe-owners-threshold")
def safe_owners_threshold(ctx: CheckContext) -> Outcome:
    """Each chain's Safe has exactly the configured owners and threshold (at least 2)."""
    from sphinxctl.checks.items.chains import chain_client
    from sphinxctl.deploy.safe import check_safe, inspect_safe
    from sphinxctl.errors import PreflightError

    multisig = ctx.settings.multisig
    problems = []
    for chain in ctx.settings.chains:
        info = inspect_safe(chain_client(ctx, chain), safe_address(ctx, chain))
        try:
            check_safe(chain, info, multisig.owners, multisig.threshold)
        except PreflightError as exc:
            problems.append(exc.message)
            continue
        if info.threshold is not None and info.threshold < 2:
            problems.append(f"{chain}: the Safe's threshold is {info.threshold} (need >= 2)")
    return problems_outcome(
        problems,
        f"every Safe is {multisig.threshold}-of-{len(multisig.owners)} with the configured owners",
        "change owners/threshold through the Safe itself, or fix the multisig section",
    )


@check("KEY-003", "deployer-holds-no-role")
def deployer_holds_no_role(ctx: CheckContext) -> Outcome:
    """The deployer holds no role on any contract."""
    from sphinxctl.checks.items.deployment import role_graph
    from sphinxctl.deploy.roles import roles_of

    deployer = deployer_address(ctx)
    problems = [
        f"{chain} {contract}: the deployer holds {', '.join(held)}"
        for chain in ctx.settings.chains
        for contract in role_contracts()
        if (held := roles_of(role_graph(ctx, chain, contract), deployer))
    ]
    return problems_outcome(
        problems,
        f"the deployer {deployer} holds no role",
        HANDOVER_HINT.format(env=ctx.env),
    )


def _code_kind(code: str) -> str:
    from sphinxctl.chains.reads import has_code

    if not has_code(code):
        return "eoa"
    if code.lower().startswith("0xef0100"):
        return "delegated"  # an EIP-7702 account: an EOA running someone's code
    return "contract"


@check("KEY-004", "role-holder-kinds")
def role_holder_kinds(ctx: CheckContext) -> Outcome:
    """The Safe is a contract; every minter and operator role holder is an EOA."""
    from sphinxctl.checks.items.chains import chain_client
    from sphinxctl.checks.items.deployment import role_graph

    problems = []
    for chain in ctx.settings.chains:
        client = chain_client(ctx, chain)
        safe = safe_address(ctx, chain)
        if _code_kind(client.code(safe)) != "contract":
            problems.append(f"{chain}: the Safe {safe} is not a contract")
        for role, (contract, _) in HOLDER_ROLES.items():
            for holder in role_graph(ctx, chain, contract).get(role, []):
                kind = _code_kind(client.code(holder))
                if kind != "eoa":
                    problems.append(f"{chain} {contract}: {role} holder {holder} is a {kind}")
    return problems_outcome(
        problems,
        "Safes are contracts; minters and operators are EOAs",
        "role holders that sign API transactions must be plain keys; revoke others via the Safe",
    )


@check("KEY-005", "role-holders-configured")
def role_holders_configured(ctx: CheckContext) -> Outcome:
    """MINTER_ROLE and OPERATOR_ROLE holders are exactly the configured minters and operators."""
    from sphinxctl.checks.items.deployment import role_graph

    contracts = ctx.settings.contracts
    problems = []
    for chain in ctx.settings.chains:
        for role, (contract, key) in HOLDER_ROLES.items():
            want = {a.lower() for a in getattr(contracts, key)}
            have = {a.lower() for a in role_graph(ctx, chain, contract).get(role, [])}
            where = f"{chain} {contract}"
            if extra := ", ".join(sorted(have - want)):
                problems.append(f"{where}: {role} held by unconfigured {extra}")
            if missing := ", ".join(sorted(want - have)):
                problems.append(f"{where}: contracts.{key} {missing} lack {role}")
    return problems_outcome(
        problems,
        "minters and operators match the configuration on every chain",
        "grant or revoke through the Safe, or fix contracts.minters / contracts.operators",
    )
