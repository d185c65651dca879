"""Verifying RFC 9162 inclusion and consistency proofs (section 2.1.3.2 and 2.1.4.2), offline.

Flask-free and database-free, like consent.ledger.merkle: a third party can vendor both. Every
function takes keyword arguments and raises VerificationError on any failure; none returns a
bool a caller could forget to test.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from consent.errors import VerificationError
from consent.ledger.merkle import node_hash, require_hash


def root_from_inclusion_proof(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root implied by an inclusion proof, per RFC 9162 2.1.3.2 steps 1-4.

    Raises VerificationError if index >= size, size == 0, a hash is not 32 bytes, or the
    proof has more or fewer hashes than the path from that leaf to the root.
    """
    if size < 1:
        raise VerificationError("an empty tree includes no leaf")
    if not 0 <= index < size:  # Step 1.
        raise VerificationError(f"leaf {index} is not in a tree of {size} leaves")
    require_hash(leaf_hash, "leaf hash", VerificationError)
    for position, sibling in enumerate(proof):
        require_hash(sibling, f"proof hash {position}", VerificationError)
    fn, sn = index, size - 1  # Step 2.
    r = leaf_hash  # Step 3.
    for p in proof:  # Step 4.
        if sn == 0:  # 4a.
            raise VerificationError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # 4b.
            r = node_hash(p, r)
            if not fn & 1:
                # fn is the lone last node of its level, promoted without hashing: skip
                # the levels where it has no sibling.
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c.
    if sn != 0:  # Step 5, first half: the whole path must have been consumed.
        raise VerificationError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf_hash sits at index in the tree of size leaves with this root.

    Raises VerificationError for every failure, including malformed inputs.
    """
    # The caller must take size and root from one signed checkpoint: a root alone does not
    # fix its tree size, and leaf_hash must come from leaf_hash(data), never from the prover.
    require_hash(root, "root", VerificationError)
    computed = root_from_inclusion_proof(leaf_hash=leaf_hash, index=index, size=size, proof=proof)
    # Step 5, second half. Roots are public, so timing leaks nothing; compare_digest just
    # keeps that question closed.
    if not hmac.compare_digest(computed, root):
        raise VerificationError("inclusion proof does not lead to the given root")


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of first leaves is a prefix of the tree of second leaves.

    Raises VerificationError for every failure: first < 1 (no RFC proof starts from the
    empty tree), first > second, hashes not 32 bytes, a non-empty proof or differing roots
    when first == second, or a proof that does not reproduce both roots.
    """
    if first < 1:
        raise VerificationError("RFC 9162 defines no consistency proof from an empty tree")
    if first > second:
        raise VerificationError(f"tree of {second} leaves cannot extend one of {first}")
    require_hash(first_root, "first root", VerificationError)
    require_hash(second_root, "second root", VerificationError)
    for position, node in enumerate(proof):
        require_hash(node, f"proof hash {position}", VerificationError)
    if first == second:
        # PROOF(m, D[m]) = {} (2.1.4.1): anything else is padding an attacker chose.
        if proof:
            raise VerificationError("equal sizes need an empty consistency proof")
        if not hmac.compare_digest(first_root, second_root):
            raise VerificationError("equal sizes with different roots: the log forked")
        return
    if not proof:  # Step 1.
        raise VerificationError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # Step 2: a power-of-two first tree is itself a node.
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1  # Step 3.
    while fn & 1:  # Step 4.
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # Step 5.
    for c in path[1:]:  # Step 6.
        if sn == 0:  # 6a.
            raise VerificationError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # 6b.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c.
    if sn != 0:  # Step 7.
        raise VerificationError("consistency proof is shorter than the path to the root")
    if not hmac.compare_digest(fr, first_root):
        raise VerificationError("consistency proof does not reproduce the first root")
    if not hmac.compare_digest(sr, second_root):
        raise VerificationError("consistency proof does not reproduce the second root")
