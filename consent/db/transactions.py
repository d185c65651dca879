"""Work outside the database that must follow the transaction's fate: a file written for a row
is deleted if the row is rolled back; a file of an erased patient is deleted once the erasure is
committed.

Services never commit (the request, the command or the worker does), so they cannot know when
the transaction ends; they register what to do, and these hooks run it. The callbacks run after
the outermost transaction of the session ended; one that raises is logged, never re-raised (the
transaction's outcome is already decided).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

_ON_COMMIT = "consent.on_commit"
_ON_ROLLBACK = "consent.on_rollback"


def _session(session: Session | scoped_session[Any]) -> Session:
    return session() if isinstance(session, scoped_session) else session


def after_commit(session: Session | scoped_session[Any], callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction is committed (never if not)."""
    _session(session).info.setdefault(_ON_COMMIT, []).append(callback)


def after_rollback(session: Session | scoped_session[Any], callback: Callable[[], None]) -> None:
    """Run ``callback`` if the session's current transaction ends without a commit."""
    _session(session).info.setdefault(_ON_ROLLBACK, []).append(callback)


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("a callback after the end of a transaction failed")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_ON_COMMIT, []))


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction only: a savepoint's end decides nothing. After a commit the
    # lists are already empty; anything left was never committed.
    if transaction.parent is not None or transaction.nested:
        return
    session.info.pop(_ON_COMMIT, None)
    _run(session.info.pop(_ON_ROLLBACK, []))
