"""The platform's gateway to the chains: contract reads, probes and sent transactions.

JSON-RPC goes through `sphinxctl.chains.rpc.ChainClient` (timeouts, retries, failover across
the chain's RPC URLs); calls are ABI-encoded here from the compiled artifacts' ABIs, so no web3
contract objects are built per request. Blocking: the API's routes call it through a thread pool.
Reverts are decoded by the contracts' custom errors, so a refused action says why
(`EnforcedPause`, `AccessControlUnauthorizedAccount`, ...).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sphinxctl.errors import ChainError
from sphinxctl.platform.errors import GatewayError
from sphinxctl.platform.models import ChainProbe, TokenInfo, TxOutcome, VaultInfo
from sphinxctl.solidity.abi import AbiCodec
from sphinxctl.solidity.names import NFT, VAULT

if TYPE_CHECKING:
    from sphinxctl.chains.rpc import ChainClient
    from sphinxctl.chains.signer import Signer
    from sphinxctl.settings import ChainSettings, Settings

READ_PARALLELISM = 8

ClientFactory = Callable[["ChainSettings", int], "ChainClient"]
AddressSource = Callable[[], dict[str, dict[str, str]]]
AbiSource = Callable[[], dict[str, list[dict[str, Any]]]]


def default_client(chain: ChainSettings, attempts: int) -> ChainClient:
    from sphinxctl.chains.rpc import ChainClient

    return ChainClient(chain, attempts=attempts)


class ChainGateway:
    """Contract reads and writes on the configured chains (thread-safe)."""

    def __init__(
        self,
        settings: Settings,
        addresses: AddressSource,
        abis: AbiSource,
        *,
        signer: Signer | None = None,
        minter: Signer | None = None,
        guardian: Signer | None = None,
        client_factory: ClientFactory = default_client,
        receipt_timeout: float | None = None,
    ) -> None:
        self.settings = settings
        self._addresses = addresses
        self._abis = abis
        self._codec: AbiCodec | None = None
        self.signer = signer
        self.minter = minter or signer
        self.guardian = guardian
        self._factory = client_factory
        self._receipt_timeout = receipt_timeout
        self._clients: dict[tuple[str, int], ChainClient] = {}
        self._lock = threading.Lock()
        self._send_locks = {name: threading.Lock() for name in settings.chains}

    # --- plumbing --------------------------------------------------------------------------
    @property
    def codec(self) -> AbiCodec:
        """Encoders built from the compiled ABIs (CompileError until compiled)."""
        if self._codec is None:
            codec = AbiCodec(self._abis())
            with self._lock:
                self._codec = codec
        return self._codec

    def abis(self) -> dict[str, list[dict[str, Any]]]:
        """The compiled ABIs by contract name (CompileError until compiled)."""
        return self._abis()

    def deployed(self, chain: str) -> dict[str, str]:
        """Contract name -> address on `chain`, from the deployment record."""
        return dict(self._addresses().get(chain, {}))

    def chain_settings(self, chain: str) -> ChainSettings:
        found = self.settings.chains.get(chain)
        if found is None:
            raise GatewayError(
                404,
                f"unknown chain {chain!r}",
                reference="unknown-chain",
                hint=f"use one of: {', '.join(self.settings.chains)}",
            )
        return found

    def client(self, chain: str, attempts: int = 2) -> ChainClient:
        settings = self.chain_settings(chain)
        with self._lock:
            key = (chain, attempts)
            if key not in self._clients:
                self._clients[key] = self._factory(settings, attempts)
            return self._clients[key]

    def address(self, chain: str, contract: str) -> str:
        self.chain_settings(chain)
        address = self.deployed(chain).get(contract)
        if not address:
            raise GatewayError(
                404,
                f"{contract} is not deployed on {chain} in this environment",
                reference="contract-not-deployed",
                hint="deploy it with `sphinxctl deploy contracts`",
            )
        return address

    def call(self, chain: str, contract: str, function: str, *args: Any) -> Any:
        """A view call returning the decoded outputs (one value unwrapped)."""
        from sphinxctl.chains.rpc import RpcError

        address = self.address(chain, contract)
        data = self.codec.encode_call(contract, function, args)
        try:
            raw = self.client(chain).call({"to": address, "data": data})
        except RpcError as exc:
            raise self.refused(exc, chain, f"{contract}.{function}") from None
        if raw in ("0x", ""):
            raise ChainError(
                f"{chain}: {contract} at {address} returned nothing: no contract code there",
                reference="contract-missing",
                hint="the deployment record does not match this chain; redeploy or fix the RPC URL",
            )
        values = self.codec.decode_output(contract, function, len(args), raw)
        return values[0] if len(values) == 1 else values

    # --- reads -----------------------------------------------------------------------------
    def probe(self, chain: str) -> ChainProbe:
        settings = self.chain_settings(chain)
        result = ChainProbe(chain=chain, reachable=False, expected_chain_id=settings.chain_id)
        start = time.perf_counter()
        try:
            client = self.client(chain, attempts=1)
            result.chain_id = client.chain_id()
            block = client.block("latest") or {}
            result.latency_ms = round((time.perf_counter() - start) * 1000, 2)
            result.latest_block = int(block.get("number", "0x0"), 16)
            if block.get("baseFeePerGas") is not None:
                result.base_fee_gwei = int(block["baseFeePerGas"], 16) / 1e9
            result.reachable = True
            if result.chain_id != settings.chain_id:
                result.error = f"chain id {result.chain_id}, expected {settings.chain_id}"
        except (ChainError, ValueError, TypeError, KeyError) as exc:  # unreachable or bad answer
            result.error = _short(exc)
        return result

    def code_present(self, chain: str) -> dict[str, bool]:
        """Whether each recorded contract has code at its address (ChainError when the node
        cannot say: an unanswered read is not "no code")."""
        from sphinxctl.chains.reads import code_present

        return code_present(self.client(chain, attempts=1), self.deployed(chain))

    def token(self, chain: str, token_id: int) -> TokenInfo:
        owner = self.call(chain, NFT, "ownerOf", token_id)
        return TokenInfo(
            token_id=token_id,
            owner=_checksum(owner),
            phi_score=int(self.call(chain, NFT, "phiScore", token_id)),
            tier=int(self.call(chain, NFT, "rarityTier", token_id)),
            token_uri=str(self.call(chain, NFT, "tokenURI", token_id)),
        )

    def phi_scores(self, chain: str, token_ids: list[int]) -> dict[int, int | None]:
        """Phi score per token id; None for tokens that do not exist (reads run in parallel)."""

        def score(token_id: int) -> int | None:
            try:
                return int(self.call(chain, NFT, "phiScore", token_id))
            except GatewayError as exc:
                if exc.reference != "token-not-found":
                    raise
                return None

        if len(token_ids) <= 1:
            return {token_id: score(token_id) for token_id in token_ids}
        with ThreadPoolExecutor(max_workers=min(READ_PARALLELISM, len(token_ids))) as pool:
            return dict(zip(token_ids, pool.map(score, token_ids), strict=True))

    def all_scores(self, chain: str) -> dict[int, int]:
        """Every minted token's phi score (token ids run 1..totalMinted)."""
        total = int(self.call(chain, NFT, "totalMinted"))
        scores = self.phi_scores(chain, list(range(1, total + 1)))
        return {token_id: score for token_id, score in scores.items() if score is not None}

    def rarity_root(self, chain: str) -> bytes:
        return bytes(self.call(chain, NFT, "rarityRoot"))

    def paused(self, chain: str, contract: str) -> bool:
        return bool(self.call(chain, contract, "paused"))

    def vault(self, chain: str) -> VaultInfo:
        asset = _checksum(self.call(chain, VAULT, "asset"))
        from sphinxctl.chains.reads import asset_decimals

        decimals = asset_decimals(self.client(chain), asset)
        return VaultInfo(
            address=self.address(chain, VAULT),
            paused=self.paused(chain, VAULT),
            emergency_shutdown=bool(self.call(chain, VAULT, "emergencyShutdown")),
            strategies=[_checksum(s) for s in self.call(chain, VAULT, "strategies")],
            total_assets_wei=int(self.call(chain, VAULT, "totalAssets")),
            asset=asset,
            asset_decimals=decimals,
            locked_profit_wei=int(self.call(chain, VAULT, "lockedProfit")),
            profit_unlock_seconds=int(self.call(chain, VAULT, "profitUnlockTime")),
            fees_accrued_wei=int(self.call(chain, VAULT, "feesAccrued")),
            assets_per_share_wei=int(
                self.call(
                    chain, VAULT, "convertToAssets", 10 ** int(self.call(chain, VAULT, "decimals"))
                )
            ),
        )

    # --- writes ----------------------------------------------------------------------------
    def transact(
        self,
        chain: str,
        contract: str,
        function: str,
        *args: Any,
        on_sent: Callable[[str], None] | None = None,
        as_minter: bool = False,
        on_signed: Callable[[str, str], None] | None = None,
        sender: Signer | None = None,
    ) -> TxOutcome:
        """Simulate, sign, send and wait for one contract call from the API's signer (the
        minter key for mints when one is configured).

        A call the chain would refuse raises GatewayError 409 naming the contract's error, and
        nothing is sent. `on_sent(tx_hash)` runs right after the broadcast (to record it);
        `on_signed(tx_hash, raw)` right before it (a write-ahead journal of the signed bytes).
        """
        from sphinxctl.chains.fees import quote_fees
        from sphinxctl.chains.rpc import RpcError

        signer = sender or (self.minter if as_minter else self.signer)
        if signer is None:
            raise GatewayError(
                503,
                "the API has no signing key configured, so it cannot send transactions",
                reference="signer-not-configured",
                hint="set api.signer_key / api.minter_key (SPHINXCTL_API__SIGNER_KEY, ...) or "
                "deployer.private_key",
            )
        settings = self.chain_settings(chain)
        client = self.client(chain)
        label = f"{contract}.{function}"
        call = {
            "from": signer.address,
            "to": self.address(chain, contract),
            "data": self.codec.encode_call(contract, function, args),
        }
        with self._send_locks[chain]:
            try:
                gas = client.estimate_gas(call)
            except RpcError as exc:
                raise self.refused(exc, chain, label) from None
            fees = quote_fees(client)
            if fees.above_ceiling:
                raise GatewayError(
                    503,
                    f"{chain} base fee {fees.base_fee_wei / 1e9:.2f} gwei is above the "
                    f"configured ceiling of {settings.max_base_fee_gwei} gwei",
                    reference="fee-ceiling",
                    hint="retry later, or raise chains.<chain>.max_base_fee_gwei",
                )
            signed = signer.sign(
                {
                    **call,
                    "nonce": client.nonce(signer.address, "pending"),
                    "gas": gas * 12 // 10 + 10_000,
                    "maxFeePerGas": fees.max_fee_wei,
                    "maxPriorityFeePerGas": fees.priority_fee_wei,
                    "chainId": settings.chain_id,
                    "type": 2,
                    "value": 0,
                }
            )
            if on_signed is not None:
                on_signed(signed.tx_hash, signed.raw)
            try:
                client.send_raw(signed.raw)
            except RpcError as exc:
                raise self.refused(exc, chain, label) from None
        if on_sent is not None:
            on_sent(signed.tx_hash)
        return self.wait(chain, signed.tx_hash)

    def wait(self, chain: str, tx_hash: str) -> TxOutcome:
        """The receipt's outcome, or `pending` when none arrives within the timeout."""
        settings = self.chain_settings(chain)
        timeout = self._receipt_timeout or min(settings.stuck_timeout_seconds, 60.0)
        deadline = time.monotonic() + timeout
        client = self.client(chain)
        delay = 0.02
        while True:
            receipt = client.receipt(tx_hash)
            if receipt is not None:
                return TxOutcome(
                    tx_hash=tx_hash,
                    status="confirmed" if int(receipt.get("status", "0x0"), 16) == 1 else "failed",
                    block_number=int(receipt["blockNumber"], 16),
                    logs=list(receipt.get("logs") or []),
                )
            if time.monotonic() >= deadline:
                return TxOutcome(tx_hash=tx_hash, status="pending")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    # --- errors ----------------------------------------------------------------------------
    def refused(self, exc: Any, chain: str, what: str) -> GatewayError:
        """GatewayError for an error the node answered: 404 for a missing token, 409 otherwise."""
        name, args = self.codec.decode_error(_revert_data(exc.data))
        if name == "ERC721NonexistentToken":
            return GatewayError(404, "no such token", reference="token-not-found")
        reason = name or exc.message or "execution reverted"
        return GatewayError(
            409,
            f"{chain}: {what} was refused by the contract: {reason}",
            reference="contract-refused",
            details={"revert": name, "args": args} if name else {"revert": reason},
            hint=_REVERT_HINTS.get(name or ""),
        )


def _revert_data(data: Any) -> str | None:
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) else None


def _checksum(address: str) -> str:
    from sphinxctl.validation import to_checksum_address

    return to_checksum_address(address)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


_REVERT_HINTS = {
    "EnforcedPause": "the contract is paused; an admin can unpause it",
    "ExpectedPause": "the contract is not paused",
    "PhiScoreOutOfBounds": "use a phi score within the contract's current bounds",
    "AccessControlUnauthorizedAccount": "the API's signer lacks the role this call needs",
    "EmergencyShutdownActive": "the vault is already in emergency shutdown",
    "ERC721InvalidReceiver": "the recipient cannot receive ERC-721 tokens",
}
