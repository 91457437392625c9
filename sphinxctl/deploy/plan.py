"""Deployment and handover plans, built from configuration alone.

Deploy plan per chain: on env `local` a DevnetSPX stand-in for the SPX token (marked local-only;
`contracts.deploy_local_token` is refused by the settings outside `local`, and this module
refuses it again), then SphinxYieldAggregator(asset, treasury, deployer, admin delay), then
SpaceFlightNFT(asset, treasury, deployer, base_uri, royalty_bps, admin delay), then setPhiBounds
when the configured bounds differ from the constructor's, then OPERATOR_ROLE / MINTER_ROLE grants
and GUARDIAN_ROLE grants on both contracts.

Handover plan per chain: (env local without a configured Safe) a Safe 1.4.1 singleton, proxy
factory and 2-of-3 proxy; a check that the Safe matches the configured owners and threshold;
ADMIN_ROLE granted to the Safe and the two-step DEFAULT_ADMIN_ROLE transfer to it started
(`beginDefaultAdminTransfer`, AccessControlDefaultAdminRules); a check that the Safe holds
ADMIN_ROLE and is the pending (or current) default admin; then the deployer renounces every
other role it holds. DEFAULT_ADMIN_ROLE leaves the deployer when the Safe calls
`acceptDefaultAdminTransfer()` after `contracts.admin_transfer_delay_seconds`.
"""

from __future__ import annotations

from sphinxctl.deploy.models import ChainPlan, Condition, PlanStep, Ref
from sphinxctl.errors import ConfigError
from sphinxctl.settings import ChainSettings, Settings
from sphinxctl.settings.base import ZERO_ADDRESS
from sphinxctl.solidity.abi import encode_call, role_id
from sphinxctl.solidity.names import LOCAL_TOKEN, NFT, VAULT

ROLE_CONTRACTS = (VAULT, NFT)
LOCAL_TOKEN_SUPPLY = 1_000_000_000 * 10**18
CONSTRUCTOR_PHI_BOUNDS = (200, 1000)
DEPLOYER = Ref(ref="deployer")
SAFE = Ref(ref="Safe")
SAFE_SETUP = "setup(address[],uint256,address,bytes,address,address,uint256,address)"
GRANT = "grantRole(bytes32,address)"
RENOUNCE = "renounceRole(bytes32,address)"


def _deploy(contract: str, args: list[Ref | int | str], **extra: object) -> PlanStep:
    return PlanStep(
        intent=f"deploy:{contract}",
        kind="deploy",
        contract=contract,
        artifact=str(extra.pop("artifact", contract)),
        args=args,
        description=f"deploy {contract}",
        **extra,
    )


def _grant(contract: str, role: str, account: Ref | str, phase: str = "deploy") -> PlanStep:
    who = account.ref if isinstance(account, Ref) else account
    return PlanStep(
        intent=f"{'handover:' if phase == 'handover' else ''}grant:{contract}:{role}:{who}",
        kind="call",
        phase=phase,
        contract=contract,
        function=GRANT,
        args=[role_id(role), account],
        description=f"grant {role} on {contract} to {who}",
        skip_when=Condition(kind="has_role", role=role, account=account),
    )


def _address_setting(value: str | None, key: str, env: str) -> str:
    if not value:
        raise ConfigError(
            f"{key} is not set for environment {env!r}",
            hint=f"set {key} in environments/{env}.yaml",
            reference="config-missing-address",
        )
    if value.lower() == ZERO_ADDRESS:
        raise ConfigError(
            f"{key} is the zero-address placeholder in environments/{env}.yaml",
            hint="set the real address before deploying",
            reference="config-placeholder-address",
        )
    return value


def build_deploy_plan(settings: Settings, chain: ChainSettings) -> ChainPlan:
    """The deployment of the platform's contracts on one chain, from configuration."""
    contracts = settings.contracts
    env = settings.environment
    treasury = _address_setting(contracts.treasury, "contracts.treasury", env)
    steps: list[PlanStep] = []
    asset: Ref | str
    if contracts.deploy_local_token:
        if env != "local":
            raise ConfigError(
                f"contracts.deploy_local_token is set for environment {env!r}",
                hint="the DevnetSPX stand-in is local-only; set contracts.spx_token instead",
                reference="config-local-token",
            )
        steps.append(_deploy(LOCAL_TOKEN, [DEPLOYER, LOCAL_TOKEN_SUPPLY], local_only=True))
        asset = Ref(ref=LOCAL_TOKEN)
    else:
        asset = _address_setting(
            contracts.spx_token.get(chain.name), f"contracts.spx_token.{chain.name}", env
        )
    delay = contracts.admin_transfer_delay_seconds
    steps.append(_deploy(VAULT, [asset, treasury, DEPLOYER, delay]))
    steps.append(
        _deploy(NFT, [asset, treasury, DEPLOYER, contracts.base_uri, contracts.royalty_bps, delay])
    )
    if (contracts.phi_min, contracts.phi_max) != CONSTRUCTOR_PHI_BOUNDS:
        steps.append(
            PlanStep(
                intent=f"call:{NFT}:setPhiBounds:{contracts.phi_min}:{contracts.phi_max}",
                kind="call",
                contract=NFT,
                function="setPhiBounds(uint16,uint16)",
                args=[contracts.phi_min, contracts.phi_max],
                description=f"set phi bounds {contracts.phi_min}..{contracts.phi_max} on {NFT}",
            )
        )
    steps += [_grant(VAULT, "OPERATOR_ROLE", op) for op in contracts.operators]
    steps += [_grant(NFT, "MINTER_ROLE", minter) for minter in contracts.minters]
    steps += [
        _grant(contract, "GUARDIAN_ROLE", guardian)
        for contract in ROLE_CONTRACTS
        for guardian in contracts.guardians
    ]
    return ChainPlan(chain=chain.name, phase="deploy", steps=steps)


def safe_setup_data(owners: list[str], threshold: int) -> str:
    """Calldata of Safe.setup: owners, threshold, no module, no fallback handler, no payment."""
    return encode_call(
        SAFE_SETUP,
        [owners, threshold, ZERO_ADDRESS, b"", ZERO_ADDRESS, ZERO_ADDRESS, 0, ZERO_ADDRESS],
    )


def build_handover_plan(
    settings: Settings,
    chain: ChainSettings,
    *,
    deploy_safe: bool,
    contracts: list[str],
    held: dict[str, list[str]],
) -> ChainPlan:
    """Move admin roles of `contracts` to the Safe; `held` = roles the deployer holds now."""
    steps: list[PlanStep] = []
    if deploy_safe:
        multisig = settings.multisig
        steps.append(_deploy("SafeSingleton", [], artifact="Safe", phase="handover"))
        steps.append(_deploy("SafeProxyFactory", [], phase="handover"))
        steps.append(
            PlanStep(
                intent="handover:create:Safe",
                kind="call",
                phase="handover",
                contract="SafeProxyFactory",
                function="createProxyWithNonce(address,bytes,uint256)",
                args=[
                    Ref(ref="SafeSingleton"),
                    safe_setup_data(multisig.owners, multisig.threshold),
                    0,
                ],
                description=f"create the {multisig.threshold}-of-{len(multisig.owners)} Safe",
                produces="Safe",
            )
        )
    steps.append(
        PlanStep(
            intent="check:safe",
            kind="check",
            phase="handover",
            contract="Safe",
            description="check the Safe's owners and threshold",
        )
    )
    for contract in contracts:
        steps.append(_grant(contract, "ADMIN_ROLE", SAFE, phase="handover"))
        steps.append(
            PlanStep(
                intent=f"handover:begin-admin-transfer:{contract}",
                kind="call",
                phase="handover",
                contract=contract,
                function="beginDefaultAdminTransfer(address)",
                args=[SAFE],
                description=f"start the DEFAULT_ADMIN_ROLE transfer of {contract} to the Safe",
                skip_when=Condition(
                    kind="admin_transfer_started", role="DEFAULT_ADMIN_ROLE", account=SAFE
                ),
            )
        )
    steps.append(
        PlanStep(
            intent="check:safe-roles",
            kind="check",
            phase="handover",
            contract="Safe",
            description="check the Safe holds the admin roles",
        )
    )
    for contract in contracts:
        roles = set(held.get(contract, [])) | {"ADMIN_ROLE"}
        for role in sorted(roles - {"DEFAULT_ADMIN_ROLE"}):
            steps.append(
                PlanStep(
                    intent=f"handover:renounce:{contract}:{role}",
                    kind="call",
                    phase="handover",
                    contract=contract,
                    function=RENOUNCE,
                    args=[role_id(role), DEPLOYER],
                    description=f"renounce {role} on {contract}",
                    skip_when=Condition(kind="lacks_role", role=role, account=DEPLOYER),
                )
            )
    return ChainPlan(chain=chain.name, phase="handover", steps=steps)
