"""Tamper-evident ledger: RFC 9162 Merkle tree hashing, proofs and verification."""
