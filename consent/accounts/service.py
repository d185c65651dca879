"""Accounts: the people who use the service (API keys: consent.accounts.keys)."""

from __future__ import annotations

from sqlalchemy import select

from consent import clock
from consent.accounts.models import ROLES, Account
from consent.db import AnySession
from consent.errors import InvalidInput, NotFound


def create_account(session: AnySession, *, email: str, display_name: str, role: str) -> Account:
    """Add an account. Raises InvalidInput for an unknown role."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    account = Account(email=email.strip().lower(), display_name=display_name.strip(), role=role)
    session.add(account)
    session.flush()
    return account


def account_by_email(session: AnySession, email: str) -> Account:
    """The account. Raises NotFound."""
    account: Account | None = session.scalar(
        select(Account).where(Account.email == email.strip().lower())
    )
    if account is None:
        raise NotFound(f"No account {email}.")
    return account


def accounts(session: AnySession) -> list[Account]:
    """Every account, by name."""
    return list(session.scalars(select(Account).order_by(Account.display_name, Account.id)))


def disable_account(session: AnySession, account: Account) -> None:
    """The account can no longer log in or sign on, its open sessions end at their next
    request, and its API keys are refused (within CONSENT_API_KEY_CACHE_SECONDS on every
    worker). Its records and receipts stay as they are."""
    if account.disabled_at is None:
        account.disabled_at = clock.now()
        session.flush()


def enable_account(session: AnySession, account: Account) -> None:
    account.disabled_at = None
    session.flush()
