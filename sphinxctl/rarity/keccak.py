"""keccak256 for the rarity tree: safe-pysha3's C Keccak.

Measured here (bench/bench_rarity.py prints it each run): ~0.9 µs per 64-byte hash, against
~5 µs for pycryptodome's `keccak.new` (what eth-hash's backend calls per hash). Both give the
same digests; the Merkle code only needs raw bytes in and out, so nothing else is wrapped.
"""

from __future__ import annotations

from sha3 import keccak_256


def keccak256(data: bytes) -> bytes:
    """The 32-byte Keccak-256 digest (Ethereum's, not NIST SHA3-256)."""
    return bytes(keccak_256(data).digest())
