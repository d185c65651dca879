"""Column types shared by the domains."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back time-zone aware.

    SQLite has no time zones; storing naive UTC everywhere keeps both engines comparable.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random public identifier with a type prefix (``pt_``, ``md_``, ``rq_``, ``cs_``...).

    122 random bits: unguessable, and free of any patient data.
    """
    return f"{prefix}_{uuid.uuid4().hex}"


def rfc3339(value: datetime) -> str:
    """The one text form of a time in receipts and answers: UTC, seconds, ``Z``."""
    # isoformat is several times faster than strftime, and this runs in every verify answer.
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def insert_unless_present(table: Any, dialect_name: str) -> Any:
    """An INSERT that does nothing when the row's key is already there (ON CONFLICT DO
    NOTHING, on PostgreSQL and SQLite alike). Add ``.returning(<key column>)`` to learn
    whether it inserted: the rowcount of such a statement is not reliable through the ORM
    session (psycopg reports -1).

    Concurrent writers of the same key wait for each other, and only one inserts.
    """
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
