"""NFT routes: token reads, rarity ranking, snapshots and proofs, role-gated mint."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sphinxctl.api.dependencies import get_services, require
from sphinxctl.api.errors import BAD_REQUEST, CONFLICT, TOO_LARGE, ApiProblem
from sphinxctl.api.routes.common import ChainName, TokenIdPath, api_router, protected
from sphinxctl.api.schemas import (
    ADDRESS_PATTERN,
    MintResponse,
    RarityProof,
    RarityRanking,
    Token,
)
from sphinxctl.auth import Claims, Permission
from sphinxctl.platform.actions import run_audited
from sphinxctl.platform.models import TxOutcome, tier_name
from sphinxctl.rarity import proofs
from sphinxctl.rarity.jobs import JobView, SnapshotJobs
from sphinxctl.solidity.abi import event_topic
from sphinxctl.solidity.names import NFT
from sphinxctl.validation import ChecksumAddress, PhiScore, TokenIdList

router = api_router("/nfts", "nfts")

MINTED_TOPIC = event_topic("Minted(uint256,address,uint16,uint8,uint256,address)")
_IDS = TypeAdapter(TokenIdList)


class MintRequest(BaseModel):
    """Mint one token to `recipient` with `phi_score` (MINTER_ROLE mint, no payment)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "phi_score": 777}
            ]
        },
    )

    recipient: Annotated[
        ChecksumAddress,
        Field(
            description="EIP-55 checksummed or all-lowercase address",
            json_schema_extra={"pattern": ADDRESS_PATTERN, "format": "eth-address"},
        ),
    ]
    phi_score: PhiScore


@router.get(
    "/{chain}/rarity",
    response_model=RarityRanking,
    summary="Rank tokens by phi score",
    **protected(Permission.nfts_read),
)
def rank_tokens(
    request: Request,
    chain: ChainName,
    ids: Annotated[
        str,
        Query(
            description="Comma-separated token ids, at most 100",
            examples=["1,2,3"],
            pattern=r"^[0-9]{1,20}(,[0-9]{1,20}){0,99}$",
        ),
    ],
    _claims: Claims = Depends(require(Permission.nfts_read)),
) -> RarityRanking:
    """The given tokens ranked by their on-chain phi score (1 = highest), with their rank in
    the latest published snapshot when they are in it."""
    services = get_services(request)
    return proofs.ranking(services.gateway, services.store, chain, _IDS.validate_python(ids))


def _jobs(request: Request) -> SnapshotJobs:
    services = get_services(request)
    return SnapshotJobs(services.store, services.gateway)


@router.post(
    "/{chain}/rarity-snapshot",
    response_model=JobView,
    status_code=202,
    summary="Start a rarity snapshot job (and publish its root)",
    **protected(Permission.rarity_publish, CONFLICT),
)
def rarity_snapshot(
    request: Request,
    chain: ChainName,
    # "true"/"false" exactly (not any of the spellings a bool query accepts), so what the
    # document allows is exactly what the server accepts.
    publish: Annotated[
        Literal["true", "false"], Query(description="Send setRarityRoot with the new root")
    ] = "false",
    claims: Claims = Depends(require(Permission.rarity_publish)),
) -> JSONResponse:
    """Starts a background job that reads every minted token's phi score (Multicall3
    batches), builds the Merkle tree the contract verifies and stores it; with
    `publish=true` it also sends `setRarityRoot(root)` (once, even across restarts). Answers
    202 with the job; `GET .../rarity-snapshot/{job_id}` for progress and result. A live job
    of the chain is answered again instead of starting a second one; a job whose server died
    is resumed."""
    jobs = _jobs(request)
    job, run = jobs.submit(
        chain, publish=publish == "true", actor=claims.sub, role=claims.role.value
    )
    if run:
        jobs.run_in_background(job.job_id)
    location = f"{request.url.path}/{job.job_id}"
    return JSONResponse(
        job.model_dump(mode="json"), status_code=202, headers={"Location": location}
    )


@router.get(
    "/{chain}/rarity-snapshot/{job_id}",
    response_model=JobView,
    summary="A rarity snapshot job's progress and result",
    **protected(Permission.rarity_publish),
)
def rarity_snapshot_job(
    request: Request,
    chain: ChainName,
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The job id")],
    _claims: Claims = Depends(require(Permission.rarity_publish)),
) -> JobView:
    """Status (`running`, `succeeded`, `failed`), phase, tokens read so far, RPC round trips,
    and once done the snapshot id, root, leaf count and publishing transaction."""
    return _jobs(request).get(chain, job_id)


@router.get(
    "/{chain}/{token_id:uint256}/rarity-proof",
    response_model=RarityProof,
    summary="Merkle proof of a token's rarity",
    **protected(Permission.nfts_read),
)
def rarity_proof(
    request: Request,
    chain: ChainName,
    token_id: TokenIdPath,
    _claims: Claims = Depends(require(Permission.nfts_read)),
) -> RarityProof:
    """The token's leaf (id, phi score, rank) and proof in the snapshot whose root is
    published on chain, checked against that root."""
    services = get_services(request)
    return proofs.proof(services.gateway, services.store, chain, token_id)


@router.post(
    "/{chain}/mint",
    response_model=MintResponse,
    summary="Mint a token",
    **protected(
        Permission.nfts_mint,
        BAD_REQUEST,
        CONFLICT,
        TOO_LARGE,
        {202: {"model": MintResponse, "description": "Sent; not yet mined"}},
    ),
)
def mint(
    request: Request,
    chain: ChainName,
    body: MintRequest,
    claims: Claims = Depends(require(Permission.nfts_mint)),
) -> JSONResponse:
    """Mints to `recipient` from the API's MINTER_ROLE signer; returns the transaction hash
    and, once mined, the new token id."""
    services = get_services(request)
    services.gateway.address(chain, NFT)
    outcome = run_audited(
        services,
        claims,
        action="nft.mint",
        chain=chain,
        target=NFT,
        kind="mint",
        params={"recipient": body.recipient, "phi_score": body.phi_score},
        perform=lambda on_sent: services.gateway.transact(
            chain, NFT, "mintTo", body.recipient, body.phi_score, on_sent=on_sent, as_minter=True
        ),
    )
    _raise_if_failed(chain, outcome)
    result = MintResponse(
        chain=chain,
        tx_hash=outcome.tx_hash,
        status=outcome.status,
        block_number=outcome.block_number,
        token_id=_minted_token(outcome),
        recipient=body.recipient,
        phi_score=body.phi_score,
    )
    return JSONResponse(
        result.model_dump(mode="json"), status_code=202 if result.status == "pending" else 200
    )


@router.get(
    "/{chain}/{token_id:uint256}",
    response_model=Token,
    summary="Read a token",
    **protected(Permission.nfts_read),
)
def get_token(
    request: Request,
    chain: ChainName,
    token_id: TokenIdPath,
    _claims: Claims = Depends(require(Permission.nfts_read)),
) -> Token:
    """Owner, phi score, rarity tier and token URI, read on chain."""
    info = get_services(request).gateway.token(chain, token_id)
    return Token(
        chain=chain,
        token_id=token_id,
        owner=info.owner,
        phi_score=info.phi_score,
        rarity_tier=info.tier,
        rarity_tier_name=tier_name(info.tier),
        token_uri=info.token_uri,
    )


def _minted_token(outcome: TxOutcome) -> int | None:
    for log in outcome.logs:
        topics = log.get("topics") or []
        if len(topics) >= 2 and str(topics[0]).lower() == MINTED_TOPIC:
            return int(str(topics[1]), 16)
    return None


def _raise_if_failed(chain: str, outcome: TxOutcome) -> None:
    if outcome.status == "failed":
        raise ApiProblem(
            409,
            f"{chain}: transaction {outcome.tx_hash} reverted on chain",
            reference="transaction-reverted",
            details={"tx_hash": outcome.tx_hash, "block_number": outcome.block_number},
        )
