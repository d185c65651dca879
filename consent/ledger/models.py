"""The log's tables: leaves, hashes of complete subtrees, and the head.

``log_nodes`` holds the hash of every complete, aligned subtree (level k covers 2**k leaves,
index i covers leaves [i * 2**k, (i + 1) * 2**k)), in the spirit of c2sp.org/tlog-tiles: any
proof then reads O(log n) stored hashes and never recomputes a subtree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow

LEAF_KINDS = ("consent", "withdrawal", "erasure", "rendition")


class LogLeaf(db.Model):  # type: ignore[name-defined,misc]
    """One logged record: its envelope's canonical bytes and their RFC 9162 leaf hash."""

    __tablename__ = "log_leaves"
    __table_args__ = (
        CheckConstraint('"index" >= 0', name="index_not_negative"),
        CheckConstraint(f"kind IN {LEAF_KINDS!r}", name="kind_known"),
    )

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(20))
    # The consent, withdrawal, erasure or rendition this leaf logs: one leaf per record.
    record_id: Mapped[str] = mapped_column(String(40), unique=True)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LogNode(db.Model):  # type: ignore[name-defined,misc]
    """The hash of a complete aligned subtree (level 0: the leaf hashes)."""

    __tablename__ = "log_nodes"
    __table_args__ = (CheckConstraint("level >= 0 AND level < 64", name="level_range"),)

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogHead(db.Model):  # type: ignore[name-defined,misc]
    """The log's size and root: one row, updated in every append's transaction."""

    __tablename__ = "log_head"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))


class CheckpointTimestamp(db.Model):  # type: ignore[name-defined,misc]
    """An RFC 3161 token over the signed note of the checkpoint of ``tree_size`` entries.

    The note is kept as it was timestamped (a later key rotation signs the same head
    differently), with the authority's reply as received (DER TimeStampResp).
    """

    __tablename__ = "checkpoint_timestamps"
    __table_args__ = (
        CheckConstraint("tree_size >= 1", name="tree_size_positive"),
        CheckConstraint("length(note_sha256) = 32", name="note_sha256_length"),
    )

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    note_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    tsa_url: Mapped[str] = mapped_column(String(2000))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    # The authority's time (genTime), and when the service stored the token.
    gen_time: Mapped[datetime] = mapped_column(UTCDateTime())
    stamped_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
