"""Write a log in bulk for benchmark data sets: the same leaves, subtree hashes and head that
consent.ledger.store writes one append at a time, so that proofs and the audit hold on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update

from consent.ledger import store
from consent.ledger.merkle import leaf_hash, node_hash
from consent.ledger.models import LogHead, LogLeaf, LogNode

BATCH = 20_000


class BulkLog:
    """Append leaves in memory order; ``finish`` writes the upper levels and the head."""

    def __init__(self, session: Any, start: int = 0) -> None:
        if start != 0:
            raise ValueError("bulk logs start empty")
        self.session = session
        self.level: list[bytes] = []
        self._leaves: list[dict[str, Any]] = []
        self._nodes: list[dict[str, Any]] = []

    @property
    def next_index(self) -> int:
        return len(self.level)

    def add(self, *, data: bytes, kind: str, record_id: str) -> int:
        index = len(self.level)
        hashed = leaf_hash(data)
        self.level.append(hashed)
        self._leaves.append(
            {
                "index": index,
                "leaf_hash": hashed,
                "data": data,
                "kind": kind,
                "record_id": record_id,
            }
        )
        self._nodes.append({"level": 0, "index": index, "hash": hashed})
        return index

    def flush(self) -> None:
        """Write the leaves added so far (call before inserting rows that refer to them)."""
        if self._leaves:
            self.session.execute(insert(LogLeaf), self._leaves)
            self.session.execute(insert(LogNode), self._nodes)
        self._leaves, self._nodes = [], []

    def finish(self) -> None:
        self.flush()
        level, height = self.level, 0
        while len(level) > 1:
            height += 1
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            rows = [{"level": height, "index": i, "hash": h} for i, h in enumerate(level)]
            for start in range(0, len(rows), BATCH):
                self.session.execute(insert(LogNode), rows[start : start + BATCH])
        size = len(self.level)
        self.session.execute(update(LogHead).values(size=size))
        self.session.execute(update(LogHead).values(root=store.root_at(self.session, size)))
