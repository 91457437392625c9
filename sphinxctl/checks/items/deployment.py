"""Deployment: the record is complete, the code is ours, nothing paused or shut down, the
deployer can pay for what is left, and the on-chain parameters equal the configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.items.chains import chain_client
from sphinxctl.checks.items.configuration import deployer_address
from sphinxctl.checks.items.contracts import current_artifacts
from sphinxctl.checks.registry import Blocked, Outcome, check, problems_outcome
from sphinxctl.solidity.names import LOCAL_TOKEN, NFT, VAULT

if TYPE_CHECKING:
    from sphinxctl.deploy.journal import JournalDocument
    from sphinxctl.deploy.records import DeploymentRecord


def expected_contracts(ctx: CheckContext) -> list[str]:
    """The contracts the deploy plan creates on every chain (DevnetSPX on local)."""
    return ([LOCAL_TOKEN] if ctx.settings.contracts.deploy_local_token else []) + [VAULT, NFT]


def deployment_record(ctx: CheckContext) -> DeploymentRecord:
    """The environment's deployment record; Blocked by DEP-001 when there is none."""
    from sphinxctl.deploy.records import load_record
    from sphinxctl.errors import ChainError

    def load() -> DeploymentRecord:
        try:
            record = load_record(ctx.project_root, ctx.env)
        except ChainError as exc:
            raise Blocked("DEP-001", exc.message, exc.hint) from None
        if record is None:
            raise Blocked("DEP-001", f"nothing deployed in {ctx.env} (deployments/{ctx.env}.json)")
        return record

    return ctx.memo("record", load)


def journal_document(ctx: CheckContext) -> JournalDocument:
    from sphinxctl.deploy.journal import journal_path, read_document

    def load() -> JournalDocument:
        deployment_record(ctx)
        document = read_document(journal_path(ctx.project_root, ctx.env))
        assert document is not None
        return document

    return ctx.memo("journal", load)


def contract_address(ctx: CheckContext, chain: str, name: str) -> str:
    """Where `name` lives on `chain` per the record; Blocked by DEP-001 when it does not."""
    address = deployment_record(ctx).address_of(chain, name)
    if address is None:
        raise Blocked("DEP-001", f"{chain}: {name} is not in the deployment record")
    return address


def call(ctx: CheckContext, chain: str, to: str, signature: str, types: list[str]) -> Any:
    """A read-only contract call, decoded (one value for one type; addresses checksummed)."""
    from sphinxctl.solidity.abi import checksum, decode_result, encode_call

    raw = chain_client(ctx, chain).call({"to": to, "data": encode_call(signature, [])})
    values = [
        checksum(v) if t == "address" else v
        for t, v in zip(types, decode_result(types, raw), strict=True)
    ]
    return values[0] if len(values) == 1 else values


@check("DEP-001", "deployment-record-complete")
def deployment_record_complete(ctx: CheckContext) -> Outcome:
    """The deployment record lists every contract on every chain with its transaction."""
    try:
        record = deployment_record(ctx)
    except Blocked as blocked:
        if blocked.item_id != "DEP-001":
            raise
        return problems_outcome(
            [blocked.reason], "", blocked.hint or f"run `sphinxctl -e {ctx.env} deploy contracts`"
        )
    problems = []
    for name, chain in ctx.settings.chains.items():
        deployed = record.chains.get(name)
        if deployed is None:
            problems.append(f"{name}: nothing deployed")
            continue
        if deployed.chain_id != chain.chain_id:
            problems.append(
                f"{name}: recorded on chain id {deployed.chain_id}, not {chain.chain_id}"
            )
        for contract in expected_contracts(ctx):
            info = deployed.contracts.get(contract)
            if info is None:
                problems.append(f"{name}: {contract} not deployed")
            elif not info.tx_hash:
                problems.append(f"{name}: {contract} has no creation transaction recorded")
        if deployed.pending_transactions:
            problems.append(f"{name}: {deployed.pending_transactions} transaction(s) still pending")
    return problems_outcome(
        problems,
        f"{len(record.chains)} chain(s), {', '.join(expected_contracts(ctx))} on each",
        f"run (or resume) `sphinxctl -e {ctx.env} deploy contracts`",
    )


@check("DEP-002", "contract-code-matches")
def contract_code_matches(ctx: CheckContext) -> Outcome:
    """Every deployed contract's runtime code equals the compiled artifact."""
    from sphinxctl.deploy.safe import RECORDED_AS, load_safe_artifacts
    from sphinxctl.deploy.verify import verify_chain

    artifacts = dict(current_artifacts(ctx))
    document = journal_document(ctx)
    problems: list[str] = []
    verified = 0
    for name in ctx.settings.chains:
        journal = document.chains.get(name)
        if journal is None:
            raise Blocked("DEP-001", f"{name}: nothing deployed")
        if any(contract in journal.contracts for contract in RECORDED_AS):
            artifacts.update(load_safe_artifacts(ctx.project_root))
        for found in verify_chain(chain_client(ctx, name), journal, artifacts):
            verified += 1
            if not found.ok:
                problems.append(f"{name} {found.contract} at {found.address}: {found.reason}")
    return problems_outcome(
        problems,
        f"{verified} contract(s) match their artifacts",
        "the code on chain is not what this repository compiles: stop and investigate "
        "(wrong commit or compiler settings, or a foreign contract at the address)",
    )


@check("DEP-003", "contracts-not-paused")
def contracts_not_paused(ctx: CheckContext) -> Outcome:
    """No contract is paused."""
    problems = []
    for chain in ctx.settings.chains:
        for contract in (VAULT, NFT):
            address = contract_address(ctx, chain, contract)
            if call(ctx, chain, address, "paused()", ["bool"]):
                problems.append(f"{chain} {contract} is paused")
    return problems_outcome(
        problems,
        "no contract is paused",
        "if the pause was not intended: unpause through the Safe (docs/MAINNET_DEPLOYMENT.md §4)",
    )


@check("DEP-004", "aggregator-not-shutdown")
def aggregator_not_shutdown(ctx: CheckContext) -> Outcome:
    """The yield aggregator is not in emergency shutdown."""
    problems = []
    for chain in ctx.settings.chains:
        address = contract_address(ctx, chain, VAULT)
        if call(ctx, chain, address, "emergencyShutdown()", ["bool"]):
            problems.append(f"{chain} {VAULT} at {address} is in emergency shutdown")
    return problems_outcome(
        problems,
        "no emergency shutdown",
        "the shutdown is irreversible: deploy a new aggregator and migrate users",
    )


def _planned_cost(ctx: CheckContext, chain: str, deployer: str) -> tuple[int, int, str]:
    """(balance, max cost of every transaction still planned, native token) on `chain`:
    the deploy plan, then the handover plan until the chain is handed over."""
    from sphinxctl.deploy.plan import ROLE_CONTRACTS, build_deploy_plan, build_handover_plan
    from sphinxctl.deploy.preflight import preflight_chains
    from sphinxctl.deploy.roles import roles_of
    from sphinxctl.deploy.safe import load_safe_artifacts

    settings = ctx.settings
    config = settings.chains[chain]
    document = journal_document(ctx) if _has_record(ctx) else None
    journal = document.chains.get(chain) if document else None
    plans = [build_deploy_plan(settings, config)]
    artifacts = dict(current_artifacts(ctx))
    deployed = journal is not None and all(c in journal.contracts for c in ROLE_CONTRACTS)
    if deployed and journal is not None and not journal.handed_over:
        held = {c: roles_of(role_graph(ctx, chain, c), deployer) for c in ROLE_CONTRACTS}
        deploy_safe = settings.multisig.safes.get(chain) is None and journal.safe is None
        plans.append(
            build_handover_plan(
                settings,
                config,
                deploy_safe=deploy_safe,
                contracts=list(ROLE_CONTRACTS),
                held=held,
            )
        )
        artifacts.update(load_safe_artifacts(ctx.project_root))
    client = chain_client(ctx, chain)
    previews = preflight_chains(
        ctx.env, [(config, client, plan, journal) for plan in plans], deployer, artifacts
    )
    balance = previews[0].balance_wei
    if balance is None:
        reasons = "; ".join(p.message for p in previews[0].problems) or "no balance read"
        raise Blocked("RPC-001", f"{chain}: preflight failed: {reasons}")
    cost = sum(p.max_cost_wei for p in previews)
    if not deployed:  # the handover is priced once the contracts exist: keep a margin for it
        cost += cost // 10
    return balance, cost, config.native_token


def _has_record(ctx: CheckContext) -> bool:
    try:
        deployment_record(ctx)
    except Blocked:
        return False
    return True


def role_graph(ctx: CheckContext, chain: str, contract: str) -> dict[str, list[str]]:
    """Role -> holders of `contract` on `chain`, rebuilt from its RoleGranted/RoleRevoked logs."""
    from sphinxctl.deploy.roles import role_holders

    def build() -> dict[str, list[str]]:
        info = deployment_record(ctx).contract(chain, contract)
        if info is None:
            raise Blocked("DEP-001", f"{chain}: {contract} is not in the deployment record")
        return role_holders(chain_client(ctx, chain), info.address, info.block_number or 0)

    return ctx.memo(f"roles:{chain}:{contract}", build)


@check("DEP-005", "deployer-balance", timeout=15.0)
def deployer_balance(ctx: CheckContext) -> Outcome:
    """The deployer's balance covers the transactions still planned on every chain."""
    from sphinxctl.deploy.preflight import format_native

    deployer = deployer_address(ctx)
    problems, covered = [], []
    for chain in ctx.settings.chains:
        balance, cost, token = _planned_cost(ctx, chain, deployer)
        if balance < cost:
            problems.append(
                f"{chain}: balance {format_native(balance, token)} < planned "
                f"{format_native(cost, token)} (short {format_native(cost - balance, token)})"
            )
        else:
            covered.append(f"{chain} {format_native(cost, token)} planned")
    return problems_outcome(
        problems,
        f"deployer {deployer}: " + ", ".join(covered),
        "fund the deployer with the shortfall (and nothing more)",
    )


@check("DEP-006", "contract-parameters")
def contract_parameters(ctx: CheckContext) -> Outcome:
    """The on-chain treasury, payment token, royalty and phi bounds equal the configuration."""
    from sphinxctl.solidity.abi import checksum, decode_result, encode_call

    c = ctx.settings.contracts
    problems = []
    for chain in ctx.settings.chains:
        token = (
            contract_address(ctx, chain, LOCAL_TOKEN)
            if c.deploy_local_token
            else c.spx_token.get(chain, "")
        )
        aggregator = contract_address(ctx, chain, VAULT)
        nft = contract_address(ctx, chain, NFT)
        royalty_call = encode_call("royaltyInfo(uint256,uint256)", [1, 10_000])
        receiver, royalty = decode_result(
            ["address", "uint256"], chain_client(ctx, chain).call({"to": nft, "data": royalty_call})
        )
        found = {
            f"{VAULT}.asset": (call(ctx, chain, aggregator, "asset()", ["address"]), token),
            f"{VAULT}.treasury": (
                call(ctx, chain, aggregator, "treasury()", ["address"]),
                c.treasury,
            ),
            f"{NFT}.paymentToken": (call(ctx, chain, nft, "paymentToken()", ["address"]), token),
            f"{NFT}.treasury": (call(ctx, chain, nft, "treasury()", ["address"]), c.treasury),
            f"{NFT}.royalty receiver": (checksum(receiver), c.treasury),
            f"{NFT}.royalty bps": (int(royalty), c.royalty_bps),
            f"{NFT}.minPhiScore": (call(ctx, chain, nft, "minPhiScore()", ["uint16"]), c.phi_min),
            f"{NFT}.maxPhiScore": (call(ctx, chain, nft, "maxPhiScore()", ["uint16"]), c.phi_max),
        }
        for what, (have, want) in found.items():
            if str(have).lower() != str(want).lower():
                problems.append(f"{chain} {what} is {have}, configured {want}")
    return problems_outcome(
        problems,
        "treasury, payment token, royalty and phi bounds match on every chain",
        "change them through the Safe (or fix the environment file if it is wrong)",
    )
