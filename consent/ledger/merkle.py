"""Merkle tree hashing and proofs exactly as RFC 9162 section 2.1 defines them (their
verification: consent.ledger.merkle_verify).

The hashing is the same as RFC 6962, so proofs interoperate with Certificate Transparency
tooling. This module knows nothing of Flask or of any database: proof generation asks a
``SubtreeSource`` for subtree hashes and nothing else.

Which subtrees a store must serve: every subtree that PATH (2.1.3.1) or SUBPROOF (2.1.4.1)
requests from a tree of ``size`` leaves is either

* complete and aligned: ``size`` a power of two and ``start`` a multiple of it, or
* the right-edge partial subtree ``[start, size)`` of that tree, with ``start`` a multiple of
  the smallest power of two not below its width.

This holds because the recursion's left children are always complete and aligned, so only the
chain of right children starting at the root can be partial, and each ends at the tree's edge.
A store therefore keeps only hashes of complete aligned subtrees (as tlog-tiles does) and
builds the rare right-edge hash from the O(log n) complete ones ``decompose`` lists; a whole
proof then reads at most 2 * ceil(log2(size)) complete subtree hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Protocol

# The service's one exception tree; consent.errors itself imports nothing outside the standard
# library at import time, so this module stays free of Flask and of the database.

HASH_SIZE = 32  # RFC 9162 2.1 with SHA-256, the hash RFC 6962 fixes for every log.
LEAF_PREFIX = b"\x00"  # RFC 9162 2.1.1: leaves and nodes hash in separate domains,
NODE_PREFIX = b"\x01"  # RFC 9162 2.1.1: so no leaf can pose as an interior node.
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 2.1.1: MTH({}) = HASH().


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 2.1.1 leaf hash SHA-256(0x00 || data).

    Raises nothing.
    """
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 2.1.1 interior node hash SHA-256(0x01 || left || right).

    Raises ValueError if either child is not a 32-byte hash.
    """
    require_hash(left, "left child hash", ValueError)
    require_hash(right, "right child hash", ValueError)
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """Return k, the largest power of two strictly smaller than n (RFC 9162 2.1.1).

    Raises ValueError if n < 2, where the RFC never splits.
    """
    if n < 2:
        raise ValueError(f"a tree of {n} leaves has no split point")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return MTH over the given leaf hashes in one pass, O(n) hashes and O(log n) memory.

    Raises ValueError if a leaf hash is not 32 bytes.
    """
    # Stack of complete subtrees with strictly decreasing widths, merged like a binary
    # counter; the RFC's recursion would nest a million frames deep, this never does.
    stack: list[tuple[int, bytes]] = []
    for hashed_leaf in leaf_hashes:
        require_hash(hashed_leaf, "leaf hash", ValueError)
        width, node = 1, hashed_leaf
        while stack and stack[-1][0] == width:
            node = node_hash(stack.pop()[1], node)
            width *= 2
        stack.append((width, node))
    if not stack:
        return EMPTY_ROOT
    # The stack is exactly decompose(0, n); folding it right to left yields MTH.
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root


def decompose(start: int, size: int) -> list[tuple[int, int]]:
    """Split subtree [start, start+size) into complete aligned subtrees, left to right.

    Raises ValueError if size < 1 or start < 0, or if the range is not aligned the way a
    subtree of the RFC recursion is (start a multiple of the power of two covering size),
    since then the pieces would not fold into that range's MTH.
    """
    if size < 1 or start < 0:
        raise ValueError(f"no subtree starts at {start} with {size} leaves")
    covering = 1 << (size - 1).bit_length()
    if start % covering:
        raise ValueError(f"[{start}, {start + size}) is not a subtree of any RFC 9162 tree")
    pieces: list[tuple[int, int]] = []
    # The binary digits of size, largest first, are the RFC's successive k splits.
    for bit in reversed(range(size.bit_length())):
        width = 1 << bit
        if size & width:
            pieces.append((start, width))
            start += width
    return pieces


def subtree_hash_from_complete(
    start: int, size: int, complete: Callable[[int, int], bytes]
) -> bytes:
    """Return MTH of subtree [start, start+size) from the hashes of its complete pieces.

    Raises ValueError as ``decompose`` does, or if ``complete`` returns a hash that is not
    32 bytes.
    """
    pieces = decompose(start, size)
    # MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with the left part complete,
    # so the pieces fold from the right.
    root = complete(*pieces[-1])
    require_hash(root, "complete subtree hash", ValueError)
    for piece in reversed(pieces[:-1]):
        root = node_hash(complete(*piece), root)
    return root


class SubtreeSource(Protocol):
    """Anything that can return the MTH of a subtree of the log's leaves."""

    def subtree_hash(self, start: int, size: int) -> bytes:
        """Return MTH of leaves [start, start+size); see the module docstring for which.

        Raises whatever the store raises when it lacks those leaves.
        """
        ...


class MemoryTree:
    """A list of leaf hashes in memory, a SubtreeSource for tests and offline tools."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Start a tree holding the given leaf hashes, in order.

        Raises ValueError if a leaf hash is not 32 bytes.
        """
        self._leaf_hashes: list[bytes] = []
        for hashed_leaf in leaf_hashes:
            self.append(hashed_leaf)

    def append(self, hashed_leaf: bytes) -> int:
        """Append one leaf hash and return its index.

        Raises ValueError if it is not 32 bytes.
        """
        require_hash(hashed_leaf, "leaf hash", ValueError)
        self._leaf_hashes.append(bytes(hashed_leaf))
        return len(self._leaf_hashes) - 1

    @property
    def size(self) -> int:
        """Return the number of leaves.

        Raises nothing.
        """
        return len(self._leaf_hashes)

    def __len__(self) -> int:
        return len(self._leaf_hashes)

    def root(self) -> bytes:
        """Return the tree head, MTH of every leaf.

        Raises nothing.
        """
        return root_from_leaf_hashes(self._leaf_hashes)

    def subtree_hash(self, start: int, size: int) -> bytes:
        """Return MTH of leaves [start, start+size), computed directly from the leaves.

        Raises ValueError if the range is empty or reaches past the last leaf.
        """
        if size < 1 or start < 0 or start + size > len(self._leaf_hashes):
            raise ValueError(f"no subtree [{start}, {start + size}) in {len(self)} leaves")
        return root_from_leaf_hashes(self._leaf_hashes[start : start + size])


def inclusion_proof(*, index: int, size: int, source: SubtreeSource) -> list[bytes]:
    """Return PATH(index, D[size]) of RFC 9162 2.1.3.1, ordered from the leaf upwards.

    Raises ValueError if not 0 <= index < size, or if the source returns a malformed hash.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    # Walk the RFC's recursion from the root down; each step records the sibling subtree.
    siblings: list[bytes] = []
    start, width, offset = 0, size, index
    while width > 1:
        k = split_point(width)
        if offset < k:
            siblings.append(_fetch(source, start + k, width - k))
            width = k
        else:
            siblings.append(_fetch(source, start, k))
            start, width, offset = start + k, width - k, offset - k
    # PATH appends each sibling after the sub-path, so the deepest sibling comes first.
    siblings.reverse()
    return siblings


def consistency_proof(*, first: int, second: int, source: SubtreeSource) -> list[bytes]:
    """Return PROOF(first, D[second]) of RFC 9162 2.1.4.1, empty when first == second.

    Raises ValueError unless 0 < first <= second (the RFC defines no proof from the empty
    tree), or if the source returns a malformed hash.
    """
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    nodes: list[bytes] = []
    start, width, offset = 0, second, first
    # SUBPROOF's flag b: true while the current subtree is still the first tree's root.
    is_first_root = True
    while offset != width:
        k = split_point(width)
        if offset <= k:
            nodes.append(_fetch(source, start + k, width - k))
            width = k
        else:
            nodes.append(_fetch(source, start, k))
            start, width, offset = start + k, width - k, offset - k
            is_first_root = False
    if not is_first_root:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}: the verifier cannot know this hash.
        nodes.append(_fetch(source, start, width))
    nodes.reverse()
    return nodes


def _fetch(source: SubtreeSource, start: int, size: int) -> bytes:
    # A store handing back a truncated or oversized hash would yield a proof no client
    # can verify; fail where the fault is, not at the client.
    subtree = source.subtree_hash(start, size)
    require_hash(subtree, f"hash of subtree [{start}, {start + size})", ValueError)
    return subtree


def require_hash(value: bytes, what: str, error: type[Exception]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")
