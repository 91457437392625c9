"""GET /api/v1/contracts: every deployed contract per chain, with explorer links."""

from __future__ import annotations

from fastapi import Depends, Request

from sphinxctl.api.dependencies import get_services, require
from sphinxctl.api.routes.common import api_router, protected
from sphinxctl.api.schemas import ChainContracts, ContractEntry, ContractsResponse
from sphinxctl.auth import Claims, Permission

router = api_router("", "contracts")


@router.get(
    "/contracts",
    response_model=ContractsResponse,
    summary="Deployed contracts",
    **protected(Permission.contracts_read),
)
def list_contracts(
    request: Request, _claims: Claims = Depends(require(Permission.contracts_read))
) -> ContractsResponse:
    """Addresses per chain and contract from the deployment record, with explorer links."""
    from sphinxctl.chains.registry import explorer_link

    services = get_services(request)
    settings = services.settings
    record = services.deployments.record()
    chains = []
    for name, chain in settings.chains.items():
        deployment = record.chains.get(name) if record is not None else None
        entries = []
        for contract, info in sorted((deployment.contracts if deployment else {}).items()):
            link = info.explorer_url or explorer_link(
                chain, settings.environment, "address", info.address
            )
            entries.append(
                ContractEntry(contract=contract, address=info.address, explorer_url=link)
            )
        chains.append(
            ChainContracts(
                chain=name,
                chain_id=chain.chain_id,
                display_name=chain.display_name or name,
                contracts=entries,
            )
        )
    return ContractsResponse(environment=settings.environment, chains=chains)
