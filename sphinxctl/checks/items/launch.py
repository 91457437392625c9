"""Launch and rollout: testnet went first, and the attestations file is sound."""

from __future__ import annotations

from sphinxctl.checks.attestations import attestation_set
from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import Outcome, check, failed, not_applicable, passed


@check("LCH-001", "testnet-deployed-first")
def testnet_deployed_first(ctx: CheckContext) -> Outcome:
    """For mainnet, every contract was deployed, verified and handed over on testnet first."""
    from sphinxctl.checks.items.deployment import expected_contracts
    from sphinxctl.deploy.records import load_record

    if ctx.env != "mainnet":
        return not_applicable(f"only mainnet needs a testnet rehearsal (env {ctx.env})")
    record = load_record(ctx.project_root, "testnet")
    if record is None or not record.chains:
        return failed(
            "no testnet deployment record (deployments/testnet.json)",
            "run the whole procedure on testnet first: docs/MAINNET_DEPLOYMENT.md, step 1",
        )
    problems = []
    names = [n for n in expected_contracts(ctx) if n]
    for chain in ctx.settings.chains:
        deployed = record.chains.get(chain)
        if deployed is None:
            problems.append(f"testnet {chain}: nothing deployed")
            continue
        for name in names:
            info = deployed.contracts.get(name)
            if info is None:
                problems.append(f"testnet {chain}: {name} not deployed")
            elif info.verified is not True:
                problems.append(f"testnet {chain}: {name} bytecode not verified")
        if not deployed.handed_over:
            problems.append(f"testnet {chain}: roles not handed over to the Safe")
    if problems:
        return failed(
            "; ".join(problems),
            "finish testnet: `sphinxctl -e testnet deploy verify` and `deploy handover --to-safe`",
        )
    return passed(f"testnet record complete on {len(record.chains)} chain(s)")


@check("LCH-002", "attestations-valid")
def attestations_valid(ctx: CheckContext) -> Outcome:
    """The attestations file is valid: known manual ids, who, when, evidence, none stale."""
    found = attestation_set(ctx)
    if found.problems:
        return failed(
            "; ".join(found.problems),
            f"fix {found.path.name}: one entry per manual item with id, who, when, evidence",
            problems=found.problems,
        )
    if not found.exists:
        return passed(f"no {found.path.name} yet: no manual item attested")
    return passed(f"{len(found.valid)} attestation(s) valid")
