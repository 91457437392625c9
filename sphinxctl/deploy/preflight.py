"""Preflight: everything checked before anything is signed, every chain concurrently.

Per chain: the RPC answers; `eth_chainId` equals the configured id (refused otherwise); the
chain is the one the journal recorded (genesis hash; a reset devnet is detected); the journal
agrees with the deployer's on-chain nonce; the deployer's balance; EIP-1559 fees and the base
fee ceiling; the state and gas estimate of every step; the cost at the max fee and the shortfall.
Problems are collected, not raised, so the operator sees all of them in one table.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sphinxctl.chains.fees import format_gwei, quote_fees
from sphinxctl.chains.rpc import ChainClient, RpcError
from sphinxctl.deploy.journal import PENDING, ChainJournal
from sphinxctl.deploy.models import ChainPlan, ChainPreview, Problem, TxPreview
from sphinxctl.deploy.steps import (
    ChainView,
    check_unchanged,
    estimate,
    gas_limit,
    revert_text,
    step_state,
)
from sphinxctl.errors import ChainError
from sphinxctl.settings import ChainSettings
from sphinxctl.solidity.abi import create_address
from sphinxctl.solidity.artifacts import Artifact

WEI = 10**18


def format_native(wei: int, token: str) -> str:
    return f"{wei / WEI:,.6f} {token}"


def preflight_chains(
    environment: str,
    items: list[tuple[ChainSettings, ChainClient, ChainPlan, ChainJournal | None]],
    deployer: str,
    artifacts: dict[str, Artifact],
    extra_checks: Callable[[ChainSettings, ChainClient, ChainPreview], None] | None = None,
) -> list[ChainPreview]:
    """Preflight every chain in parallel (one thread per chain)."""

    def one(
        item: tuple[ChainSettings, ChainClient, ChainPlan, ChainJournal | None],
    ) -> ChainPreview:
        chain, client, plan, jc = item
        preview = _empty(chain, client, deployer)
        try:
            _preflight(environment, chain, client, plan, jc, deployer, artifacts, preview)
            if extra_checks is not None and not preview.problems:
                extra_checks(chain, client, preview)
        except ChainError as exc:
            preview.problems.append(
                Problem(
                    chain=chain.name, reference=exc.reference, message=exc.message, hint=exc.hint
                )
            )
        return preview

    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        return list(pool.map(one, items))


def _empty(chain: ChainSettings, client: ChainClient, deployer: str) -> ChainPreview:
    return ChainPreview(
        chain=chain.name,
        display_name=chain.display_name or chain.name,
        chain_id=chain.chain_id,
        endpoint=client.endpoint,
        native_token=chain.native_token,
        deployer=deployer,
    )


def _problem(preview: ChainPreview, reference: str, message: str, hint: str | None) -> None:
    preview.problems.append(
        Problem(chain=preview.chain, reference=reference, message=message, hint=hint)
    )


def _preflight(
    environment: str,
    chain: ChainSettings,
    client: ChainClient,
    plan: ChainPlan,
    jc: ChainJournal | None,
    deployer: str,
    artifacts: dict[str, Artifact],
    preview: ChainPreview,
) -> None:
    answered = client.chain_id()
    preview.reachable = True
    preview.answered_chain_id = answered
    if answered != chain.chain_id:
        _problem(
            preview,
            "preflight-wrong-chain-id",
            f"{chain.name}: the RPC endpoint {client.endpoint} serves chain id {answered}, but "
            f"environments/{environment}.yaml expects {chain.chain_id}",
            f"fix chains.{chain.name}.rpc_urls (or chain_id); nothing was signed",
        )
        return
    preview.genesis_hash = client.genesis_hash()
    if jc is not None and jc.genesis_hash and preview.genesis_hash != jc.genesis_hash:
        if environment == "local":
            preview.reset_detected = True
            preview.notes.append(
                "the devnet was reset since the journal was written: its "
                "old section is archived and the chain deployed afresh"
            )
            jc = None
        else:
            _problem(
                preview,
                "journal-other-network",
                f"{chain.name}: the RPC endpoint serves a different network (genesis block) than "
                "the one this environment's journal recorded",
                "check chains.<name>.rpc_urls; nothing was signed",
            )
            return
    if jc is not None and jc.deployer.lower() != deployer.lower():
        _problem(
            preview,
            "deployer-changed",
            f"{chain.name}: the journal records deployer {jc.deployer}, the configured key is "
            f"{deployer}",
            "deploy with the key that started this deployment (its roles and nonces are in the "
            "journal)",
        )
        return
    preview.balance_wei = client.balance(deployer)
    latest = client.nonce(deployer, "latest")
    pending_nonce = client.nonce(deployer, "pending")
    journaled = jc.next_nonce() if jc is not None and jc.transactions else None
    pending_records = [tx for tx in jc.transactions if tx.status in PENDING] if jc else []
    next_nonce = journaled if journaled is not None else pending_nonce
    preview.nonce = next_nonce
    if journaled is not None and (latest > journaled or pending_nonce > journaled):
        _problem(
            preview,
            "journal-behind",
            f"{chain.name}: the deployer has sent {max(latest, pending_nonce)} transactions but "
            f"the journal knows {journaled}: another tool or a lost journal update used this key",
            "rebuild the journal from the chain with `sphinxctl deploy status --reconcile`",
        )
        return
    if journaled is not None and latest < journaled and not pending_records:
        _problem(
            preview,
            "journal-ahead",
            f"{chain.name}: the journal records {journaled} transactions, the chain only "
            f"{latest}: the chain lost blocks (reorg or reset node)",
            "run `sphinxctl deploy status --reconcile` to rebuild the journal from the chain",
        )
        return
    view = ChainView(client=client, deployer=deployer, journal=jc, artifacts=artifacts)
    fees = quote_fees(client)
    preview.fees = fees
    overrides: dict[str, str] = {}
    for record in sorted(pending_records, key=lambda r: r.nonce):
        limit = record.attempts[-1].gas_limit if record.attempts else 0
        if record.kind == "deploy" and record.contract:  # later steps may reference it
            address = create_address(deployer, record.nonce)
            view.predicted[record.contract] = address
            if record.contract in artifacts:
                overrides[address] = artifacts[record.contract].deployed_bytecode
        preview.txs.append(
            TxPreview(
                nonce=record.nonce,
                intent=record.intent,
                description=f"{record.description} (resume: saved transaction)",
                status="pending",
                gas=limit or 0,
                gas_limit=limit or 0,
                gas_source="journal",
            )
        )
    pending_intents = {record.intent for record in pending_records}
    nonce = next_nonce
    for step in plan.steps:
        if step.kind == "check" or step.intent in pending_intents:
            continue
        changed = check_unchanged(view, step)
        if changed:
            _problem(
                preview,
                "plan-changed",
                f"{chain.name}: {changed}",
                "sphinxctl never deploys a contract twice: restore the configuration, or archive "
                f"deployments/{environment}.json to start a new deployment",
            )
            continue
        state = step_state(view, step)
        if state in ("done", "skip"):
            preview.txs.append(
                TxPreview(
                    nonce=None, intent=step.intent, description=step.description, status=state
                )
            )
            continue
        if step.kind == "deploy":
            address = create_address(deployer, nonce)
            view.predicted[step.contract] = address
            artifact = artifacts[step.artifact or step.contract]
        try:
            gas, source = estimate(view, step, code_overrides=overrides, nonce=nonce)
        except RpcError as exc:
            _problem(
                preview,
                "preflight-would-revert",
                f"{chain.name}: {step.description} would fail: {revert_text(view, exc)}",
                "nothing was signed; fix the cause named above and rerun",
            )
            gas, source = 0, "node"
        if step.kind == "deploy":
            overrides[address] = artifact.deployed_bytecode
        preview.txs.append(
            TxPreview(
                nonce=nonce,
                intent=step.intent,
                description=step.description,
                status="new",
                gas=gas,
                gas_limit=gas_limit(gas),
                gas_source=source,
            )
        )
        nonce += 1
    _costs(chain, preview)


def _costs(chain: ChainSettings, preview: ChainPreview) -> None:
    fees = preview.fees
    assert fees is not None
    sending = [tx for tx in preview.txs if tx.status in ("new", "pending")]
    preview.total_gas = sum(tx.gas for tx in sending)
    preview.max_cost_wei = sum(tx.gas_limit for tx in sending) * fees.max_fee_wei
    preview.expected_cost_wei = preview.total_gas * fees.expected_fee_wei
    balance = preview.balance_wei or 0
    preview.shortfall_wei = max(0, preview.max_cost_wei - balance)
    if not sending:
        return
    if fees.above_ceiling:
        _problem(
            preview,
            "preflight-base-fee-above-ceiling",
            f"{chain.name}: the base fee is {format_gwei(fees.base_fee_wei)} gwei, above the "
            f"ceiling chains.{chain.name}.max_base_fee_gwei = {chain.max_base_fee_gwei}",
            "wait for fees to drop, or raise the ceiling deliberately; nothing was signed",
        )
    if preview.shortfall_wei > 0:
        token = chain.native_token
        _problem(
            preview,
            "preflight-insufficient-balance",
            f"{chain.name}: the deployer {preview.deployer} holds "
            f"{format_native(balance, token)} but the plan may cost up to "
            f"{format_native(preview.max_cost_wei, token)} (short by "
            f"{format_native(preview.shortfall_wei, token)})",
            f"send at least {format_native(preview.shortfall_wei, token)} to {preview.deployer} "
            f"on {chain.name}, then rerun; nothing was signed",
        )
