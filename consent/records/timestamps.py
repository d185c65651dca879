"""Trusted timestamps of checkpoints: which checkpoints still wait for one, how late they are,
and the token of a checkpoint, with the note it vouches for.

Every append makes a new checkpoint (the tree ending with that entry, the one its receipt PDF
carries); each is timestamped once by an RFC 3161 authority, after the consent's own commit and
outside its transaction (consent.workflows.timestamps). Services take the session and never
commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, exists, func, select

from consent.crypto.keyring import Keyring
from consent.crypto.timestamps import IssuedTimestamp
from consent.db import AnySession
from consent.ledger import store
from consent.ledger.checkpoint import sign_checkpoint
from consent.ledger.models import CheckpointTimestamp, LogLeaf


@dataclass(frozen=True)
class TimestampStatus:
    """What an admin page and /metrics show: checkpoints waiting and the oldest wait."""

    pending: int
    oldest_pending_since: datetime | None
    last_stamped_at: datetime | None
    last_gen_time: datetime | None

    def delay_seconds(self, now: datetime) -> float:
        """How long the oldest checkpoint without a token has waited (0 when none waits)."""
        if self.oldest_pending_since is None:
            return 0.0
        return max(0.0, (now - self.oldest_pending_since).total_seconds())


def _untimestamped() -> ColumnElement[bool]:
    return ~exists().where(CheckpointTimestamp.tree_size == LogLeaf.index + 1)


def timestamp_status(session: AnySession) -> TimestampStatus:
    pending, oldest = session.execute(
        select(func.count(), func.min(LogLeaf.logged_at)).where(_untimestamped())
    ).one()
    last = session.execute(
        select(CheckpointTimestamp.stamped_at, CheckpointTimestamp.gen_time)
        .order_by(CheckpointTimestamp.stamped_at.desc())
        .limit(1)
    ).first()
    return TimestampStatus(
        pending=int(pending),
        oldest_pending_since=oldest,
        last_stamped_at=last.stamped_at if last else None,
        last_gen_time=last.gen_time if last else None,
    )


def pending_sizes(session: AnySession, *, limit: int) -> list[int]:
    """Tree sizes of checkpoints without a token, oldest first."""
    indexes = session.scalars(
        select(LogLeaf.index).where(_untimestamped()).order_by(LogLeaf.index).limit(limit)
    )
    return [int(index) + 1 for index in indexes]


def checkpoint_note(session: AnySession, keyring: Keyring, *, origin: str, size: int) -> str:
    """The signed note of the checkpoint of ``size`` entries, as it is (or will be) timestamped:
    the stored one once timestamped, else signed now. Raises NotFound beyond the log."""
    stamped = session.get(CheckpointTimestamp, size)
    if stamped is not None:
        return stamped.note
    root = store.root_at(session, size)
    return sign_checkpoint(origin=origin, size=size, root=root, keyring=keyring)


def record_timestamp(
    session: AnySession, *, size: int, note: str, issued: IssuedTimestamp
) -> CheckpointTimestamp:
    """Store a checked token for the checkpoint of ``size`` entries (the caller checked it)."""
    row = CheckpointTimestamp(
        tree_size=size,
        note=note,
        note_sha256=hashlib.sha256(note.encode()).digest(),
        tsa_url=issued.url,
        response=issued.response,
        gen_time=issued.timestamp.gen_time.astimezone(UTC),
        stamped_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def timestamp_of(session: AnySession, size: int) -> CheckpointTimestamp | None:
    return session.get(CheckpointTimestamp, size)
