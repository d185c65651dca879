"""Log-ins and sessions of staff accounts: the delay after wrong passwords, what the owner is
told of them, and ending every session of an account.

Throttling is per (account, address) pair, with a delay that doubles with each failure (NIST SP
800-63B 5.2.2): an attacker guessing from one address slows down quickly, one spreading guesses
over many addresses gets a few tries from each, and the owner, from their own address, is never
locked out by someone else's failures. The per-address limit of consent.web.ratelimits stays in
front of it. Unknown e-mails record nothing: there is no account to slow or to tell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from consent import clock
from consent.accounts.models import Account, LoginFailure
from consent.db import AnySession

# Wrong passwords from one address before any delay; then 2, 4, 8 ... seconds, at most CAP.
FREE_FAILURES = 3
DELAY_CAP = timedelta(minutes=15)
# Failures older than this no longer count towards the delay ...
WINDOW = timedelta(hours=24)
# ... and are forgotten after this (the owner has been shown them by then, or never logs in).
KEPT = timedelta(days=30)
# Failed attempts listed to the owner after a log-in.
SHOWN = 5


@dataclass(frozen=True)
class FailedAttempt:
    """A wrong password for the account: when, and from which address."""

    at: datetime
    address: str


def retry_after(session: AnySession, account: Account, address: str) -> int | None:
    """Seconds before ``address`` may try a password for ``account`` again; None: now."""
    now = clock.now()
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.attempted_at)).where(
            LoginFailure.account_id == account.id,
            LoginFailure.address == address,
            LoginFailure.attempted_at > now - WINDOW,
        )
    ).one()
    if count < FREE_FAILURES or last is None:
        return None
    delay = min(timedelta(seconds=2 ** (count - FREE_FAILURES + 1)), DELAY_CAP)
    wait = (last + delay - now).total_seconds()
    return math.ceil(wait) if wait > 0 else None


def record_failure(session: AnySession, account: Account, address: str) -> None:
    """A wrong password for ``account`` from ``address``."""
    session.add(LoginFailure(account_id=account.id, address=address, attempted_at=clock.now()))
    session.flush()


@dataclass(frozen=True)
class FailedSince:
    """The wrong passwords since the owner's last log-in: how many, and the latest SHOWN."""

    count: int
    latest: list[FailedAttempt]


def record_success(session: AnySession, account: Account, address: str) -> FailedSince:
    """The owner is in: their own address starts afresh, and they are told of the failed
    attempts since their last log-in (how many; the latest SHOWN, newest first). Failures older
    than KEPT are dropped."""
    now = clock.now()
    since = account.last_login_at or now - KEPT
    count = session.scalar(
        select(func.count()).where(
            LoginFailure.account_id == account.id, LoginFailure.attempted_at > since
        )
    )
    latest = [
        FailedAttempt(row.attempted_at, row.address)
        for row in session.scalars(
            select(LoginFailure)
            .where(LoginFailure.account_id == account.id, LoginFailure.attempted_at > since)
            .order_by(LoginFailure.attempted_at.desc())
            .limit(SHOWN)
        )
    ]
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.account_id == account.id,
            (LoginFailure.address == address) | (LoginFailure.attempted_at < now - KEPT),
        )
    )
    account.last_login_at = now
    session.flush()
    return FailedSince(int(count or 0), latest)


def end_sessions(session: AnySession, account: Account) -> None:
    """End every session of ``account``, on every worker: each names the version it was opened
    under, and the next request of an older one finds it changed."""
    account.session_version = (account.session_version or 0) + 1
    session.flush()


def set_password_hash(session: AnySession, account: Account, password_hash: str) -> None:
    """A new password: every session opened with the old one ends."""
    account.password_hash = password_hash
    end_sessions(session, account)
