"""A Safe transaction (SafeTx) and its EIP-712 hash as Safe 1.4.1 computes it
(`getTransactionHash`), and the proposal file that carries it from propose to execute."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ZERO_ADDRESS = "0x" + "00" * 20
FORMAT = 1
CALL: Literal[0] = 0
DELEGATECALL: Literal[1] = 1

DOMAIN_TYPE = "EIP712Domain(uint256 chainId,address verifyingContract)"
SAFE_TX_TYPE = (
    "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,"
    "uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
)


STRUCT_TYPES = ["bytes32", "address", "uint256", "bytes32", "uint8", "uint256", "uint256"]
STRUCT_TYPES += ["uint256", "address", "address", "uint256"]


class SafeTx(BaseModel):
    """The fields a Safe owner signs (no refund: gas prices and tokens stay zero)."""

    to: str
    value: int = 0
    data: str = "0x"
    operation: Literal[0, 1] = CALL
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS
    nonce: int

    def data_bytes(self) -> bytes:
        return bytes.fromhex(self.data[2:] if self.data.startswith("0x") else self.data)

    def exec_args(self) -> list[Any]:
        """The first nine arguments of `execTransaction` (signatures follow)."""
        return [
            self.to,
            self.value,
            self.data_bytes(),
            self.operation,
            self.safe_tx_gas,
            self.base_gas,
            self.gas_price,
            self.gas_token,
            self.refund_receiver,
        ]


def safe_tx_hash(tx: SafeTx, chain_id: int, safe: str) -> str:
    """keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(SafeTx)), Safe 1.4.1's EIP-712 hash."""
    from eth_abi import encode
    from eth_utils import keccak, to_checksum_address

    domain = keccak(
        encode(
            ["bytes32", "uint256", "address"],
            [keccak(DOMAIN_TYPE.encode()), chain_id, to_checksum_address(safe)],
        )
    )
    struct = keccak(
        encode(
            STRUCT_TYPES,
            [
                keccak(SAFE_TX_TYPE.encode()),
                to_checksum_address(tx.to),
                tx.value,
                keccak(tx.data_bytes()),
                tx.operation,
                tx.safe_tx_gas,
                tx.base_gas,
                tx.gas_price,
                to_checksum_address(tx.gas_token),
                to_checksum_address(tx.refund_receiver),
                tx.nonce,
            ],
        )
    )
    return "0x" + keccak(b"\x19\x01" + domain + struct).hex()


class OwnerSignature(BaseModel):
    """One owner's ECDSA signature (r ‖ s ‖ v, v 27/28) over the SafeTx hash."""

    owner: str
    signature: str
    signed_at: str


class Execution(BaseModel):
    """The write-ahead record of the `execTransaction` that executes a proposal: written with
    the signed raw bytes before broadcast, completed from the receipt."""

    executor: str
    executor_nonce: int
    tx_hash: str
    raw: str
    status: Literal["signed", "sent", "mined", "reverted"]
    signed_at: str
    sent_at: str | None = None
    block_number: int | None = None
    gas_used: int | None = None
    success: bool | None = None
    events: list[str] = Field(default_factory=list)
    mined_at: str | None = None


class Proposal(BaseModel):
    """A proposal file, `deployments/<env>/safe/<id>.json`."""

    format: int = FORMAT
    id: str
    environment: str
    chain: str
    chain_id: int
    safe: str
    action: str
    contract: str | None = None
    function: str
    args: list[str] = Field(default_factory=list)
    description: str
    decoded: str
    tx: SafeTx
    safe_tx_hash: str
    owners: list[str] = Field(default_factory=list)
    threshold: int
    created_at: str
    proposed_by: str
    signatures: list[OwnerSignature] = Field(default_factory=list)
    execution: Execution | None = None

    def signature_bytes(self) -> bytes:
        """Signatures as `execTransaction` wants them: sorted by owner address, ascending."""
        ordered = sorted(self.signatures, key=lambda s: int(s.owner, 16))
        return b"".join(bytes.fromhex(s.signature[2:]) for s in ordered)
