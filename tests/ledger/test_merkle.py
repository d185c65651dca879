"""Tests for consent.ledger.merkle against published RFC 6962 vectors and the RFC 9162 text."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.errors import VerificationError
from consent.ledger import merkle
from consent.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryTree,
    SubtreeSource,
    consistency_proof,
    decompose,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    split_point,
    subtree_hash_from_complete,
)
from consent.ledger.merkle_verify import (
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# No example database: it would write a .hypothesis directory into the repository.
PROPERTY = settings(max_examples=150, deadline=None, database=None)

# Published RFC 6962 known-answer vectors, copied (not computed) from
# google/certificate-transparency cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots,
# kSHA256Paths, kSHA256Proofs) and transparency-dev/merkle proof/verify_test.go (leaves,
# roots, inclusionProofs, consistencyProofs), which agree; the {6, 7} consistency proof
# appears only in the latter. Both number leaves from 1 in their path tables; the indices
# below are 0-based.
PUBLISHED_LEAVES = [
    bytes.fromhex(""),
    bytes.fromhex("00"),
    bytes.fromhex("10"),
    bytes.fromhex("2021"),
    bytes.fromhex("3031"),
    bytes.fromhex("40414243"),
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
PUBLISHED_EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PUBLISHED_ROOTS = [  # Index i holds the root of the first i + 1 leaves.
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PUBLISHED_INCLUSION_PROOFS: list[tuple[int, int, list[str]]] = [  # (index, size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
PUBLISHED_CONSISTENCY_PROOFS: list[tuple[int, int, list[str]]] = [  # (first, second, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def _hashes(hexes: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def _published_tree() -> MemoryTree:
    return MemoryTree(leaf_hash(data) for data in PUBLISHED_LEAVES)


def _leaf_hashes(count: int) -> list[bytes]:
    return [leaf_hash(b"consent receipt %d" % i) for i in range(count)]


def _flip_bit(value: bytes, bit: int = 0) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


# Literal transcriptions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, recursion and slicing
# included: slow, but an independent oracle for the iterative code under test.
def _reference_mth(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return node_hash(_reference_mth(hashes[:k]), _reference_mth(hashes[k:]))


def _reference_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = split_point(len(hashes))
    if m < k:
        return [*_reference_path(m, hashes[:k]), _reference_mth(hashes[k:])]
    return [*_reference_path(m - k, hashes[k:]), _reference_mth(hashes[:k])]


def _reference_subproof(m: int, hashes: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if b else [_reference_mth(hashes)]
    k = split_point(n)
    if m <= k:
        return [*_reference_subproof(m, hashes[:k], b), _reference_mth(hashes[k:])]
    return [*_reference_subproof(m - k, hashes[k:], False), _reference_mth(hashes[:k])]


# --- Published known-answer vectors -------------------------------------------------------


def test_empty_root_is_the_published_hash_of_the_empty_string() -> None:
    assert EMPTY_ROOT.hex() == PUBLISHED_EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert MemoryTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_published_vectors(size: int) -> None:
    hashes = [leaf_hash(data) for data in PUBLISHED_LEAVES[:size]]
    assert root_from_leaf_hashes(hashes).hex() == PUBLISHED_ROOTS[size - 1]
    assert MemoryTree(hashes).root().hex() == PUBLISHED_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "published"), PUBLISHED_INCLUSION_PROOFS)
def test_inclusion_proofs_match_published_vectors(
    index: int, size: int, published: list[str]
) -> None:
    # The store holds all 8 leaves; proofs for older tree sizes come from the same store.
    proof = inclusion_proof(index=index, size=size, source=_published_tree())
    assert [h.hex() for h in proof] == published
    root = bytes.fromhex(PUBLISHED_ROOTS[size - 1])
    hashed_leaf = leaf_hash(PUBLISHED_LEAVES[index])
    verify_inclusion(leaf_hash=hashed_leaf, index=index, size=size, proof=proof, root=root)
    assert (
        root_from_inclusion_proof(leaf_hash=hashed_leaf, index=index, size=size, proof=proof)
        == root
    )


@pytest.mark.parametrize(("first", "second", "published"), PUBLISHED_CONSISTENCY_PROOFS)
def test_consistency_proofs_match_published_vectors(
    first: int, second: int, published: list[str]
) -> None:
    proof = consistency_proof(first=first, second=second, source=_published_tree())
    assert [h.hex() for h in proof] == published
    verify_consistency(
        first=first,
        second=second,
        first_root=bytes.fromhex(PUBLISHED_ROOTS[first - 1]),
        second_root=bytes.fromhex(PUBLISHED_ROOTS[second - 1]),
        proof=_hashes(published),
    )


def test_proofs_match_the_worked_example_of_rfc_9162_section_2_1_5() -> None:
    tree = MemoryTree(_leaf_hashes(7))
    a, b, c, d, e, f, j = (tree.subtree_hash(i, 1) for i in range(7))
    g, h, i = tree.subtree_hash(0, 2), tree.subtree_hash(2, 2), tree.subtree_hash(4, 2)
    k, l_ = tree.subtree_hash(0, 4), tree.subtree_hash(4, 3)
    assert (a, e, node_hash(i, j)) == (tree.subtree_hash(0, 1), tree.subtree_hash(4, 1), l_)
    assert inclusion_proof(index=0, size=7, source=tree) == [b, h, l_]
    assert inclusion_proof(index=3, size=7, source=tree) == [c, g, l_]
    assert inclusion_proof(index=4, size=7, source=tree) == [f, j, k]
    assert inclusion_proof(index=6, size=7, source=tree) == [i, k]
    assert consistency_proof(first=3, second=7, source=tree) == [c, d, g, l_]
    assert consistency_proof(first=4, second=7, source=tree) == [l_]
    assert consistency_proof(first=6, second=7, source=tree) == [i, j, k]


def test_merkle_module_imports_only_the_standard_library_and_the_error_tree() -> None:
    # The ledger core must load in offline verifiers with no Flask and no database driver.
    assert merkle.__file__ is not None
    with open(merkle.__file__, encoding="utf-8") as source_file:
        tree = ast.parse(source_file.read())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {
        "__future__",
        "hashlib",
        "hmac",
        "collections.abc",
        "typing",
        "consent.errors",
    }


# --- Primitives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "k"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1_000_000, 524_288)]
)
def test_split_point_is_the_largest_power_of_two_below_n(n: int, k: int) -> None:
    assert split_point(n) == k


@pytest.mark.parametrize("n", [-1, 0, 1])
def test_split_point_rejects_trees_that_never_split(n: int) -> None:
    with pytest.raises(ValueError, match="no split point"):
        split_point(n)


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) == hashlib.sha256(b"\x00" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)


def test_node_hash_rejects_children_that_are_not_hashes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        node_hash(b"\x00" * 31, leaf_hash(b""))


def test_root_of_a_large_log_needs_no_recursion() -> None:
    hashes = _leaf_hashes(65_539)
    # An independent construction: hash level by level, promoting a lone last node.
    level = hashes
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + level[len(paired) * 2 :]
    assert root_from_leaf_hashes(hashes) == level[0]


def test_memory_tree_refuses_subtrees_outside_its_leaves() -> None:
    tree = MemoryTree(_leaf_hashes(4))
    assert tree.size == len(tree) == 4
    assert tree.append(leaf_hash(b"fifth")) == 4
    for start, size in [(0, 0), (-1, 2), (3, 3)]:
        with pytest.raises(ValueError, match="no subtree"):
            tree.subtree_hash(start, size)


@pytest.mark.parametrize(
    ("start", "size", "pieces"),
    [
        (0, 1, [(0, 1)]),
        (0, 7, [(0, 4), (4, 2), (6, 1)]),
        (8, 5, [(8, 4), (12, 1)]),
        (32, 31, [(32, 16), (48, 8), (56, 4), (60, 2), (62, 1)]),
    ],
)
def test_decompose_lists_complete_subtrees_largest_first(
    start: int, size: int, pieces: list[tuple[int, int]]
) -> None:
    assert decompose(start, size) == pieces


@pytest.mark.parametrize(("start", "size"), [(0, 0), (-4, 2), (1, 2), (2, 3), (4, 5)])
def test_decompose_rejects_ranges_that_are_no_rfc_subtree(start: int, size: int) -> None:
    with pytest.raises(ValueError):
        decompose(start, size)


# --- Exhaustive: every proof in every tree of up to 64 leaves ------------------------------

EXHAUSTIVE_SIZES = range(1, 65)


@pytest.mark.parametrize("size", EXHAUSTIVE_SIZES)
def test_every_inclusion_proof_verifies(size: int) -> None:
    hashes = _leaf_hashes(size)
    tree, root = MemoryTree(hashes), root_from_leaf_hashes(hashes)
    assert root == _reference_mth(hashes)
    for index in range(size):
        proof = inclusion_proof(index=index, size=size, source=tree)
        assert proof == _reference_path(index, hashes)
        verify_inclusion(leaf_hash=hashes[index], index=index, size=size, proof=proof, root=root)


@pytest.mark.parametrize("second", EXHAUSTIVE_SIZES)
def test_every_consistency_proof_verifies(second: int) -> None:
    hashes = _leaf_hashes(second)
    tree, second_root = MemoryTree(hashes), root_from_leaf_hashes(hashes)
    for first in range(1, second + 1):
        proof = consistency_proof(first=first, second=second, source=tree)
        assert proof == _reference_subproof(first, hashes, True)
        verify_consistency(
            first=first,
            second=second,
            first_root=root_from_leaf_hashes(hashes[:first]),
            second_root=second_root,
            proof=proof,
        )


@pytest.mark.parametrize(
    ("index", "size", "length"),
    [(4, 5, 1), (6, 7, 2), (32, 33, 1), (62, 63, 5), (63, 64, 6), (0, 63, 6)],
)
def test_right_edge_inclusion_proofs_have_the_rfc_length(
    index: int, size: int, length: int
) -> None:
    hashes = _leaf_hashes(size)
    proof = inclusion_proof(index=index, size=size, source=MemoryTree(hashes))
    assert len(proof) == length
    verify_inclusion(
        leaf_hash=hashes[index],
        index=index,
        size=size,
        proof=proof,
        root=root_from_leaf_hashes(hashes),
    )


@pytest.mark.parametrize(
    ("first", "second", "length"), [(32, 33, 1), (6, 7, 3), (7, 8, 4), (63, 64, 7), (1, 64, 6)]
)
def test_right_edge_consistency_proofs_have_the_rfc_length(
    first: int, second: int, length: int
) -> None:
    hashes = _leaf_hashes(second)
    proof = consistency_proof(first=first, second=second, source=MemoryTree(hashes))
    assert len(proof) == length
    verify_consistency(
        first=first,
        second=second,
        first_root=root_from_leaf_hashes(hashes[:first]),
        second_root=root_from_leaf_hashes(hashes),
        proof=proof,
    )


# --- Tampering: each attack must raise VerificationError -----------------------------------

# A non-power-of-two tree and a right-edge-adjacent leaf, so every branch of the RFC's
# verification loop runs: left siblings, right siblings and the right-edge climb.
TAMPER_SIZE, TAMPER_INDEX = 7, 4
TAMPER_HASHES = _leaf_hashes(TAMPER_SIZE)
TAMPER_TREE = MemoryTree(TAMPER_HASHES)
TAMPER_ROOT = TAMPER_TREE.root()
TAMPER_PROOF = inclusion_proof(index=TAMPER_INDEX, size=TAMPER_SIZE, source=TAMPER_TREE)
TAMPER_FIRST = 3
TAMPER_FIRST_ROOT = root_from_leaf_hashes(TAMPER_HASHES[:TAMPER_FIRST])
TAMPER_CONSISTENCY = consistency_proof(first=TAMPER_FIRST, second=TAMPER_SIZE, source=TAMPER_TREE)


def _check_inclusion(
    *,
    leaf: bytes = TAMPER_HASHES[TAMPER_INDEX],
    index: int = TAMPER_INDEX,
    size: int = TAMPER_SIZE,
    proof: Sequence[bytes] = TAMPER_PROOF,
    root: bytes = TAMPER_ROOT,
) -> None:
    verify_inclusion(leaf_hash=leaf, index=index, size=size, proof=proof, root=root)


def _check_consistency(
    *,
    first: int = TAMPER_FIRST,
    second: int = TAMPER_SIZE,
    first_root: bytes = TAMPER_FIRST_ROOT,
    second_root: bytes = TAMPER_ROOT,
    proof: Sequence[bytes] = TAMPER_CONSISTENCY,
) -> None:
    verify_consistency(
        first=first, second=second, first_root=first_root, second_root=second_root, proof=proof
    )


def test_untampered_proofs_verify() -> None:
    _check_inclusion()
    _check_consistency()


@pytest.mark.parametrize("position", range(len(TAMPER_PROOF)))
@pytest.mark.parametrize("bit", [0, 3, 7])
def test_flipped_bit_in_inclusion_proof_hash(position: int, bit: int) -> None:
    proof = list(TAMPER_PROOF)
    proof[position] = _flip_bit(proof[position], bit)
    with pytest.raises(VerificationError, match="root"):
        _check_inclusion(proof=proof)


@pytest.mark.parametrize(
    "extended",
    [
        [*TAMPER_PROOF, TAMPER_ROOT],
        [TAMPER_ROOT, *TAMPER_PROOF],
        [*TAMPER_PROOF, TAMPER_PROOF[-1]],
        [TAMPER_PROOF[0], leaf_hash(b"inserted"), *TAMPER_PROOF[1:]],
    ],
    ids=["appended-root", "prepended-root", "repeated-last", "inserted"],
)
def test_inclusion_proof_with_an_extra_hash(extended: list[bytes]) -> None:
    with pytest.raises(VerificationError, match="longer"):
        _check_inclusion(proof=extended)


@pytest.mark.parametrize(
    "truncated", [TAMPER_PROOF[:-1], TAMPER_PROOF[1:], []], ids=["last", "first", "all"]
)
def test_truncated_inclusion_proof(truncated: list[bytes]) -> None:
    with pytest.raises(VerificationError, match="shorter"):
        _check_inclusion(proof=truncated)


@pytest.mark.parametrize("index", [TAMPER_INDEX - 1, TAMPER_INDEX + 1, TAMPER_INDEX ^ 2, 0])
def test_inclusion_proof_replayed_for_a_wrong_index(index: int) -> None:
    with pytest.raises(VerificationError):
        _check_inclusion(index=index)


@pytest.mark.parametrize("size", [TAMPER_SIZE - 1, TAMPER_SIZE * 2, TAMPER_SIZE // 2, 5])
def test_inclusion_proof_replayed_for_a_wrong_size(size: int) -> None:
    with pytest.raises(VerificationError):
        _check_inclusion(size=size)


def test_a_root_alone_does_not_bind_its_tree_size() -> None:
    # Leaf 6's hash j also fills the shape of node (6, 2), so the 7-leaf proof for leaf 4
    # verifies "in a tree of 8". Hence size and root must come from one signed checkpoint.
    _check_inclusion(size=TAMPER_SIZE + 1)


@pytest.mark.parametrize(
    "root",
    [EMPTY_ROOT, root_from_leaf_hashes(TAMPER_HASHES[:6]), _flip_bit(TAMPER_ROOT)],
    ids=["empty-tree", "older-tree", "flipped-bit"],
)
def test_inclusion_proof_against_a_wrong_root(root: bytes) -> None:
    with pytest.raises(VerificationError, match="does not lead to the given root"):
        _check_inclusion(root=root)


def test_inclusion_proof_presented_with_the_leaf_hash_of_another_leaf() -> None:
    with pytest.raises(VerificationError, match="root"):
        _check_inclusion(leaf=TAMPER_HASHES[TAMPER_INDEX + 1])


def test_interior_node_passed_off_as_leaf_data() -> None:
    # Second-preimage attack: the 7-leaf root is also the MTH of the 4 "leaves" g, h, i, j,
    # so node i = (4, 2) with proof [j, k] proves "leaf 2 of 4". Only the 0x00 leaf prefix
    # stops it, which is why callers must pass leaf_hash(data), never a hash they were sent.
    e, f = TAMPER_HASHES[4], TAMPER_HASHES[5]
    forged_proof = [TAMPER_TREE.subtree_hash(6, 1), TAMPER_TREE.subtree_hash(0, 4)]
    _check_inclusion(leaf=node_hash(e, f), index=2, size=4, proof=forged_proof)
    with pytest.raises(VerificationError, match="root"):
        _check_inclusion(leaf=leaf_hash(e + f), index=2, size=4, proof=forged_proof)


@pytest.mark.parametrize("index", [TAMPER_SIZE, TAMPER_SIZE + 5, -1])
def test_inclusion_of_an_index_outside_the_tree(index: int) -> None:
    with pytest.raises(VerificationError, match="not in a tree"):
        _check_inclusion(index=index, proof=[])


def test_inclusion_in_an_empty_tree() -> None:
    with pytest.raises(VerificationError, match="empty tree"):
        _check_inclusion(index=0, size=0, proof=[], root=EMPTY_ROOT)


@pytest.mark.parametrize(
    "overrides",
    [
        {"leaf": b"\x00" * 31},
        {"leaf": b""},
        {"root": TAMPER_ROOT + b"\x00"},
        {"proof": [*TAMPER_PROOF[:-1], TAMPER_PROOF[-1][:-1]]},
        {"proof": [b"", *TAMPER_PROOF]},
    ],
    ids=["short-leaf", "empty-leaf", "long-root", "short-proof-hash", "empty-proof-hash"],
)
def test_inclusion_with_a_hash_of_wrong_length(overrides: dict[str, Any]) -> None:
    with pytest.raises(VerificationError, match="32 bytes"):
        _check_inclusion(**overrides)


def test_consistency_with_swapped_roots() -> None:
    with pytest.raises(VerificationError, match="root"):
        _check_consistency(first_root=TAMPER_ROOT, second_root=TAMPER_FIRST_ROOT)


def test_consistency_with_a_forked_second_root() -> None:
    with pytest.raises(VerificationError, match="second root"):
        _check_consistency(second_root=_flip_bit(TAMPER_ROOT))


@pytest.mark.parametrize("position", range(len(TAMPER_CONSISTENCY)))
def test_flipped_bit_in_consistency_proof_hash(position: int) -> None:
    proof = list(TAMPER_CONSISTENCY)
    proof[position] = _flip_bit(proof[position], 4)
    with pytest.raises(VerificationError, match="root"):
        _check_consistency(proof=proof)


def test_consistency_proof_with_an_extra_hash() -> None:
    with pytest.raises(VerificationError, match="longer"):
        _check_consistency(proof=[*TAMPER_CONSISTENCY, TAMPER_ROOT])


def test_truncated_consistency_proof() -> None:
    with pytest.raises(VerificationError, match="shorter"):
        _check_consistency(proof=TAMPER_CONSISTENCY[:-1])


def test_empty_consistency_proof_between_different_sizes() -> None:
    with pytest.raises(VerificationError, match="empty"):
        _check_consistency(proof=[])


@pytest.mark.parametrize(
    ("first", "second"), [(TAMPER_FIRST - 1, TAMPER_SIZE), (TAMPER_FIRST + 1, TAMPER_SIZE)]
)
def test_consistency_proof_replayed_for_wrong_sizes(first: int, second: int) -> None:
    with pytest.raises(VerificationError):
        _check_consistency(first=first, second=second)


def test_consistency_that_travels_back_in_time() -> None:
    with pytest.raises(VerificationError, match="cannot extend"):
        _check_consistency(first=TAMPER_SIZE, second=TAMPER_FIRST)


def test_consistency_between_equal_sizes_padded_with_a_proof() -> None:
    with pytest.raises(VerificationError, match="empty consistency proof"):
        _check_consistency(first=7, first_root=TAMPER_ROOT, proof=[TAMPER_ROOT])


def test_consistency_between_equal_sizes_with_different_roots() -> None:
    with pytest.raises(VerificationError, match="forked"):
        _check_consistency(first=7, first_root=_flip_bit(TAMPER_ROOT), proof=[])


def test_consistency_between_equal_sizes_and_roots_needs_no_proof() -> None:
    _check_consistency(first=7, first_root=TAMPER_ROOT, proof=[])


def test_consistency_from_the_empty_tree() -> None:
    with pytest.raises(VerificationError, match="empty tree"):
        _check_consistency(first=0, first_root=EMPTY_ROOT, proof=[])


@pytest.mark.parametrize(
    "overrides",
    [
        {"first_root": TAMPER_FIRST_ROOT[:16]},
        {"second_root": b""},
        {"proof": [*TAMPER_CONSISTENCY, b"\x00" * 33]},
    ],
    ids=["short-first-root", "empty-second-root", "long-proof-hash"],
)
def test_consistency_with_a_hash_of_wrong_length(overrides: dict[str, Any]) -> None:
    with pytest.raises(VerificationError, match="32 bytes"):
        _check_consistency(**overrides)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (3, 3), (-1, 4)])
def test_inclusion_proof_generation_refuses_vacuous_requests(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(index=index, size=size, source=TAMPER_TREE)


@pytest.mark.parametrize(("first", "second"), [(0, 0), (0, 3), (4, 3), (-1, 3)])
def test_consistency_proof_generation_refuses_vacuous_requests(first: int, second: int) -> None:
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(first=first, second=second, source=TAMPER_TREE)


def test_proof_generation_refuses_a_store_returning_truncated_hashes() -> None:
    class TruncatingStore:
        def subtree_hash(self, start: int, size: int) -> bytes:
            return TAMPER_TREE.subtree_hash(start, size)[:20]

    with pytest.raises(ValueError, match="32 bytes"):
        inclusion_proof(index=0, size=TAMPER_SIZE, source=TruncatingStore())


# --- Property tests --------------------------------------------------------------------------

leaf_data_lists = st.lists(st.binary(max_size=24), min_size=1, max_size=48)


@PROPERTY
@given(leaf_data_lists, st.data())
def test_random_inclusion_proofs_verify(leaves: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    index = data.draw(st.integers(0, len(hashes) - 1), label="index")
    root = root_from_leaf_hashes(hashes)
    assert root == _reference_mth(hashes)
    proof = inclusion_proof(index=index, size=len(hashes), source=MemoryTree(hashes))
    verify_inclusion(leaf_hash=hashes[index], index=index, size=len(hashes), proof=proof, root=root)


@PROPERTY
@given(st.lists(st.binary(max_size=24), min_size=2, max_size=48), st.data())
def test_mutated_inclusion_proofs_are_rejected(leaves: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    index = data.draw(st.integers(0, len(hashes) - 1), label="index")
    proof = inclusion_proof(index=index, size=len(hashes), source=MemoryTree(hashes))
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    byte = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    mutated = bytearray(proof[position])
    mutated[byte] ^= 1 << bit
    proof[position] = bytes(mutated)
    with pytest.raises(VerificationError):
        verify_inclusion(
            leaf_hash=hashes[index],
            index=index,
            size=len(hashes),
            proof=proof,
            root=root_from_leaf_hashes(hashes),
        )


@PROPERTY
@given(leaf_data_lists, st.data())
def test_random_consistency_proofs_verify_and_mutations_are_rejected(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    first = data.draw(st.integers(1, len(hashes)), label="first")
    proof = consistency_proof(first=first, second=len(hashes), source=MemoryTree(hashes))
    first_root, second_root = root_from_leaf_hashes(hashes[:first]), root_from_leaf_hashes(hashes)

    def check(candidate: list[bytes]) -> None:
        verify_consistency(
            first=first,
            second=len(hashes),
            first_root=first_root,
            second_root=second_root,
            proof=candidate,
        )

    check(proof)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
        mutated = bytearray(proof[position])
        mutated[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(VerificationError):
            check([*proof[:position], bytes(mutated), *proof[position + 1 :]])


class RecordingSource:
    """Serves a MemoryTree and records every subtree the proof generators ask for."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.requests: list[tuple[int, int]] = []

    def subtree_hash(self, start: int, size: int) -> bytes:
        self.requests.append((start, size))
        return self.tree.subtree_hash(start, size)


class CompleteSubtreeStore:
    """A tlog-tiles-like store: keeps complete aligned subtrees only, folds the rest."""

    def __init__(self, complete: Callable[[int, int], bytes]) -> None:
        self._complete = complete

    def subtree_hash(self, start: int, size: int) -> bytes:
        return subtree_hash_from_complete(start, size, self._complete)


def _is_complete_and_aligned(start: int, size: int) -> bool:
    return size > 0 and size & (size - 1) == 0 and start % size == 0


@PROPERTY
@given(st.integers(1, 200), st.data())
def test_requested_subtrees_are_complete_or_right_edge_and_fold_to_their_mth(
    size: int, data: st.DataObject
) -> None:
    hashes = _leaf_hashes(size)
    tree = MemoryTree(hashes)
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")
    recorder = RecordingSource(tree)
    inclusion = inclusion_proof(index=index, size=size, source=recorder)
    consistency = consistency_proof(first=first, second=size, source=recorder)

    for start, width in recorder.requests:
        assert _is_complete_and_aligned(start, width) or start + width == size
        pieces = decompose(start, width)
        assert all(_is_complete_and_aligned(*piece) for piece in pieces)
        assert [w for _, w in pieces] == sorted({w for _, w in pieces}, reverse=True)
        assert pieces[0][0] == start and sum(w for _, w in pieces) == width
        direct = _reference_mth(hashes[start : start + width])
        assert subtree_hash_from_complete(start, width, tree.subtree_hash) == direct

    store: SubtreeSource = CompleteSubtreeStore(tree.subtree_hash)
    assert inclusion_proof(index=index, size=size, source=store) == inclusion
    assert consistency_proof(first=first, second=size, source=store) == consistency


# --- Cost: complete-subtree reads per proof in a store of up to a million leaves -------------


class CountingStore:
    """Fakes a store of complete aligned subtree hashes for a tree of ``size`` leaves."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.complete_reads = 0

    def _complete(self, start: int, width: int) -> bytes:
        assert _is_complete_and_aligned(start, width) and start + width <= self.size
        self.complete_reads += 1
        return hashlib.sha256(b"fake subtree %d+%d" % (start, width)).digest()

    def subtree_hash(self, start: int, size: int) -> bytes:
        assert _is_complete_and_aligned(start, size) or start + size == self.size
        return subtree_hash_from_complete(start, size, self._complete)


def _read_budget(size: int) -> int:
    return 2 * (size - 1).bit_length()  # 2 * ceil(log2(size))


def _inclusion_reads(index: int, size: int) -> int:
    store = CountingStore(size)
    source: SubtreeSource = store
    inclusion_proof(index=index, size=size, source=source)
    return store.complete_reads


def _consistency_reads(first: int, second: int) -> int:
    store = CountingStore(second)
    consistency_proof(first=first, second=second, source=store)
    return store.complete_reads


COST_SIZES = [1, 2, 3, 5, 7, 8, 1000, 65_535, 65_536, 65_537, 699_051, 999_999, 1_000_000]


@pytest.mark.parametrize("size", COST_SIZES)
def test_proofs_read_few_complete_subtrees(size: int) -> None:
    for index in {0, size // 3, size // 2, max(size - 2, 0), size - 1}:
        assert _inclusion_reads(index, size) <= _read_budget(size)
    for first in {1, max(size // 3, 1), max(size // 2, 1), max(size - 1, 1), size}:
        assert _consistency_reads(first, size) <= _read_budget(size)


@PROPERTY
@given(st.integers(1, 1_000_000), st.data())
def test_random_proofs_read_few_complete_subtrees(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")
    assert _inclusion_reads(index, size) <= _read_budget(size)
    assert _consistency_reads(first, size) <= _read_budget(size)


def test_offline_core_loads_without_flask_or_database() -> None:
    import subprocess
    import sys

    code = (
        "import sys, consent.ledger.merkle, consent.crypto.receipts, consent.crypto.keyring; "
        "loaded = [m for m in ('flask', 'sqlalchemy', 'psycopg') if m in sys.modules]; "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
