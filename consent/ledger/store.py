"""The log store: appends in the caller's transaction, proofs from stored subtree hashes.

Appends are serialised by the database, never by a lock in one process: on PostgreSQL a
transaction-level advisory lock, and on both engines the update of the single head row (on
SQLite, the first write takes the database's only write lock). Index, leaf, subtree hashes and
head change in the same transaction as the record that is logged: both exist or neither does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, text, update

from consent.db import AnySession
from consent.errors import IntegrityFailure, InvalidInput, NotFound
from consent.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    decompose,
    inclusion_proof,
    leaf_hash,
    node_hash,
    subtree_hash_from_complete,
)
from consent.ledger.models import LogHead, LogLeaf, LogNode

# Key of the PostgreSQL advisory lock that serialises appends (any constant unique to the app).
APPEND_LOCK_KEY = 0x636F6E73656E74  # "consent"


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes


def reserve_index(session: AnySession) -> int:
    """Take the log's append lock for this transaction and return the next leaf index.

    Must be followed by ``append`` in the same transaction (the head already counts the leaf).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    size = session.execute(
        update(LogHead).where(LogHead.id == 1).values(size=LogHead.size + 1).returning(LogHead.size)
    ).scalar_one()
    return int(size) - 1


def append(session: AnySession, *, index: int, data: bytes, kind: str, record_id: str) -> bytes:
    """Add the leaf reserved at ``index``: its hash, the complete subtrees it closes, the root.

    Returns the leaf hash.
    """
    hashed = leaf_hash(data)
    session.add(LogLeaf(index=index, leaf_hash=hashed, data=data, kind=kind, record_id=record_id))
    nodes = [LogNode(level=0, index=index, hash=hashed)]
    level, position, current = 0, index, hashed
    while position % 2 == 1:  # a right child closes its parent's subtree
        left = _node(session, level, position - 1)
        current = node_hash(left, current)
        level, position = level + 1, position // 2
        nodes.append(LogNode(level=level, index=position, hash=current))
    session.add_all(nodes)
    session.flush()
    size = index + 1
    root = subtree_hash_from_complete(0, size, _NodeLookup(session, [(0, size)]).complete)
    session.execute(update(LogHead).where(LogHead.id == 1).values(root=root))
    return hashed


def head(session: AnySession) -> Head:
    row = session.execute(select(LogHead.size, LogHead.root).where(LogHead.id == 1)).one()
    return Head(int(row.size), bytes(row.root))


def _node(session: AnySession, level: int, index: int) -> bytes:
    value = session.scalar(
        select(LogNode.hash).where(LogNode.level == level, LogNode.index == index)
    )
    if value is None:
        raise IntegrityFailure(f"log node ({level}, {index}) is missing")
    return bytes(value)


def _level(size: int) -> int:
    return size.bit_length() - 1


class _NodeLookup:
    """Complete-subtree hashes for a set of subtrees, fetched in one query."""

    def __init__(self, session: AnySession, subtrees: Iterable[tuple[int, int]]) -> None:
        wanted = {
            (_level(size), start >> _level(size))
            for tree_start, tree_size in subtrees
            for start, size in decompose(tree_start, tree_size)
        }
        self._hashes: dict[tuple[int, int], bytes] = {}
        if wanted:
            by_level: dict[int, list[int]] = {}
            for level, index in sorted(wanted):
                by_level.setdefault(level, []).append(index)
            # One (level = ? AND index IN ...) per level: both engines walk the primary key for
            # it, where a row-value IN makes SQLite scan the table.
            rows = session.execute(
                select(LogNode.level, LogNode.index, LogNode.hash).where(
                    or_(
                        *(
                            and_(LogNode.level == level, LogNode.index.in_(indices))
                            for level, indices in by_level.items()
                        )
                    )
                )
            )
            self._hashes = {(int(level), int(index)): bytes(value) for level, index, value in rows}
        missing = wanted - self._hashes.keys()
        if missing:
            raise IntegrityFailure(f"log nodes missing: {sorted(missing)[:5]}")

    def complete(self, start: int, size: int) -> bytes:
        return self._hashes[(_level(size), start >> _level(size))]

    def subtree_hash(self, start: int, size: int) -> bytes:
        return subtree_hash_from_complete(start, size, self.complete)


class _Recorder:
    """Learns which subtrees a proof needs, so that they can be fetched in one query."""

    def __init__(self) -> None:
        self.requested: list[tuple[int, int]] = []

    def subtree_hash(self, start: int, size: int) -> bytes:
        self.requested.append((start, size))
        return bytes(32)


def _check_size(session: AnySession, size: int) -> None:
    current = head(session).size
    if size > current:
        raise NotFound(f"The log has {current} entries; there is no tree of size {size}.")


def prove_inclusion(session: AnySession, *, index: int, size: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Raises InvalidInput for an index outside the tree, NotFound for a size beyond the log.
    """
    if not 0 <= index < size:
        raise InvalidInput("The index must be at least 0 and smaller than the size.")
    _check_size(session, size)
    recorder = _Recorder()
    inclusion_proof(index=index, size=size, source=recorder)
    return inclusion_proof(index=index, size=size, source=_NodeLookup(session, recorder.requested))


def prove_consistency(session: AnySession, *, first: int, second: int) -> list[bytes]:
    """The consistency proof between the trees of ``first`` and ``second`` leaves.

    Raises InvalidInput unless 1 <= first <= second, NotFound for a size beyond the log.
    """
    if not 1 <= first <= second:
        raise InvalidInput("Sizes must satisfy 1 <= first <= second.")
    _check_size(session, second)
    recorder = _Recorder()
    consistency_proof(first=first, second=second, source=recorder)
    return consistency_proof(
        first=first, second=second, source=_NodeLookup(session, recorder.requested)
    )


def root_at(session: AnySession, size: int) -> bytes:
    """The root of the tree of the first ``size`` leaves, from stored subtree hashes."""
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash_from_complete(0, size, _NodeLookup(session, [(0, size)]).complete)


def entry(session: AnySession, index: int) -> LogLeaf:
    leaf = session.get(LogLeaf, index)
    if leaf is None:
        raise NotFound(f"No log entry {index}.")
    return leaf
