"""The admin journal: every administrator's action, recorded in the action's own transaction
(the caller commits both), read newest first a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from consent import clock
from consent.accounts.models import ADMIN_ACTIONS, AdminJournalEntry
from consent.db import AnySession
from consent.errors import InvalidInput

PAGE_SIZE = 50
MAX_OBJECT_ID = 100


def record_admin_action(
    session: AnySession, *, account_id: int, action: str, object_id: str | int
) -> AdminJournalEntry:
    """Add the entry to the session (flushed, not committed: the action's commit writes it).

    Raises InvalidInput for an action the journal does not know.
    """
    if action not in ADMIN_ACTIONS:
        raise InvalidInput(f"unknown admin action {action!r}")
    entry = AdminJournalEntry(
        account_id=account_id,
        action=action,
        object_id=str(object_id)[:MAX_OBJECT_ID],
        at=clock.now(),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class JournalPage:
    entries: list[AdminJournalEntry]
    number: int
    pages: int


def journal_page(session: AnySession, number: int) -> JournalPage:
    """Page ``number`` (1 = newest) of the journal, newest first; past the end: the last page."""
    total = session.scalar(select(func.count()).select_from(AdminJournalEntry)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, number), pages)
    entries = list(
        session.scalars(
            select(AdminJournalEntry)
            .order_by(AdminJournalEntry.id.desc())
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return JournalPage(entries=entries, number=number, pages=pages)
