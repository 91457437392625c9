"""NFT routes: token reads, rarity ranking, snapshots and proofs, role-gated mint."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sphinxctl.api import rarity
from sphinxctl.api.abi import event_topic
from sphinxctl.api.actions import run_audited
from sphinxctl.api.chain import NFT, TxOutcome, tier_name
from sphinxctl.api.dependencies import get_services, require
from sphinxctl.api.errors import BAD_REQUEST, CONFLICT, TOO_LARGE, ApiProblem
from sphinxctl.api.routes.common import ChainName, TokenIdPath, api_router, protected
from sphinxctl.api.schemas import (
    ADDRESS_PATTERN,
    MintResponse,
    RarityProof,
    RarityRanking,
    SnapshotResponse,
    Token,
)
from sphinxctl.auth import Claims, Permission
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
    return rarity.ranking(get_services(request), chain, _IDS.validate_python(ids))


@router.post(
    "/{chain}/rarity-snapshot",
    response_model=SnapshotResponse,
    summary="Build (and publish) a rarity snapshot",
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
) -> SnapshotResponse:
    """Ranks every minted token by phi score, builds the Merkle tree the contract verifies
    and stores it; with `publish=true` also sends `setRarityRoot(root)`."""
    services = get_services(request)
    snapshot = rarity.create_snapshot(services, chain, claims.sub)
    response = SnapshotResponse(
        chain=chain,
        snapshot_id=snapshot.id,
        root=snapshot.root,
        leaf_count=snapshot.leaf_count,
        published=False,
    )
    if publish != "true":
        return response
    root = bytes.fromhex(snapshot.root[2:])
    outcome = run_audited(
        services,
        claims,
        action="rarity.publish",
        chain=chain,
        target=NFT,
        kind="rarity_publish",
        params={"root": snapshot.root, "snapshot_id": snapshot.id},
        perform=lambda on_sent: services.gateway.transact(
            chain, NFT, "setRarityRoot", root, on_sent=on_sent
        ),
    )
    _raise_if_failed(chain, outcome)
    if outcome.status == "confirmed":
        services.store.mark_snapshot_published(chain, snapshot.root, outcome.tx_hash)
    response.published = outcome.status == "confirmed"
    response.tx_hash = outcome.tx_hash
    return response


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
    return rarity.proof(get_services(request), chain, token_id)


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
        status=outcome.status,  # type: ignore[arg-type]
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
