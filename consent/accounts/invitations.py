"""Invitations: an administrator creates a person's account without a password and e-mails
them a single-use link where they choose one (or, with the hospital's sign-on, are told to
sign in with it).

The token is 256-bit random (secrets.token_urlsafe(32)); only its SHA-256 is stored. It works
until the invitation expires (CONSENT_INVITATION_HOURS), is used, re-sent (a new token replaces
it) or cancelled. Flask-free: the pages and the workflow hand in what is needed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select

from consent import clock
from consent.accounts.logins import set_password_hash
from consent.accounts.models import ROLES, Account, AccountInvitation, Team
from consent.accounts.service import create_account
from consent.accounts.teams import add_member
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import InvalidInput

MAX_EMAIL = 254
MAX_NAME = 200
# An address, loosely: one @, no space; the e-mail itself is the proof that it works.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class InvitationProblem(Exception):
    """Why an invitation's link cannot be used: unknown, used, cancelled or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    session: AnySession,
    *,
    email: str,
    display_name: str,
    role: str,
    team: Team,
    created_by: int,
    hours: int,
) -> tuple[AccountInvitation, str]:
    """A new account (no password), a member of ``team``, and its invitation; with the token,
    which the caller seals for the e-mail and never stores. Raises InvalidInput for a malformed
    e-mail or name, an unknown role, or an e-mail that already has an account."""
    email = email.strip().lower()
    display_name = " ".join(display_name.split())
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise InvalidInput("Give the person's e-mail address.")
    if not display_name or len(display_name) > MAX_NAME:
        raise InvalidInput("Give the person's name (at most 200 characters).")
    if role not in ROLES:
        raise InvalidInput("Choose a role.")
    if session.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise InvalidInput("An account with this e-mail exists already.")
    account = create_account(session, email=email, display_name=display_name, role=role)
    add_member(session, account=account, team=team)
    token = secrets.token_urlsafe(32)
    invitation = AccountInvitation(
        id=new_id("inv"),
        account_id=account.id,
        team_id=team.id,
        token_hash=token_hash(token),
        expires_at=clock.now() + timedelta(hours=hours),
        created_by=created_by,
        created_at=clock.now(),
    )
    session.add(invitation)
    session.flush()
    return invitation, token


def renew(session: AnySession, invitation: AccountInvitation, *, hours: int) -> str:
    """A new token and expiry for a pending invitation: the old link stops working."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.expires_at = clock.now() + timedelta(hours=hours)
    session.flush()
    return token


def cancel(session: AnySession, invitation: AccountInvitation) -> None:
    """The link stops working; the account stays, without a password."""
    invitation.cancelled_at = clock.now()
    session.flush()


def is_pending(invitation: AccountInvitation) -> bool:
    return invitation.used_at is None and invitation.cancelled_at is None


def pending(session: AnySession) -> dict[int, AccountInvitation]:
    """The pending (neither used nor cancelled) invitation of each account that has one,
    expired ones included (the page says so)."""
    rows = session.scalars(
        select(AccountInvitation)
        .where(AccountInvitation.used_at.is_(None), AccountInvitation.cancelled_at.is_(None))
        .order_by(AccountInvitation.created_at)
    )
    return {invitation.account_id: invitation for invitation in rows}


def open_invitation(session: AnySession, token: str) -> AccountInvitation:
    """The usable invitation of ``token``. Raises InvitationProblem (reason "unknown",
    "used", "cancelled" or "expired")."""
    if not token or len(token) > 100:
        raise InvitationProblem("unknown")
    invitation: AccountInvitation | None = session.scalar(
        select(AccountInvitation).where(AccountInvitation.token_hash == token_hash(token))
    )
    if invitation is None:
        raise InvitationProblem("unknown")
    if invitation.used_at is not None:
        raise InvitationProblem("used")
    if invitation.cancelled_at is not None:
        raise InvitationProblem("cancelled")
    if invitation.expires_at <= clock.now():
        raise InvitationProblem("expired")
    if invitation.account.disabled_at is not None:
        raise InvitationProblem("cancelled")
    return invitation


def accept(session: AnySession, invitation: AccountInvitation, password_hash: str) -> Account:
    """The invitation is used; its account has this password from now on."""
    invitation.used_at = clock.now()
    set_password_hash(session, invitation.account, password_hash)
    return invitation.account


def mark_signed_on(session: AnySession, account: Account) -> None:
    """The person signed in with the hospital's sign-on: their pending invitation is used."""
    for invitation in session.scalars(
        select(AccountInvitation).where(
            AccountInvitation.account_id == account.id,
            AccountInvitation.used_at.is_(None),
            AccountInvitation.cancelled_at.is_(None),
        )
    ):
        invitation.used_at = clock.now()
