"""Rarity: rank an NFT collection by phi score, build the Merkle snapshot the contract verifies,
store and publish it, serve proofs.

  merkle.py   the tree (OpenZeppelin StandardMerkleTree layout), native keccak (keccak.py)
  reads.py    phi scores in bounded Multicall3 batches (round trips counted)
  jobs.py     snapshot jobs: stored status and progress, take-over after a crash
  publish.py  setRarityRoot at most once per root (on-chain check + write-ahead journal), audited
  proofs.py   ranking and proofs served from the store, checked against the on-chain root
"""
