"""Accounts: the people who use the service (API keys: consent.accounts.keys)."""

from __future__ import annotations

from sqlalchemy import select

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
