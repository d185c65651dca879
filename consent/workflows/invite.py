"""Inviting a person (issue 18, point 5): their account, its invitation, the e-mail in the
outbox and the admin journal's entry, in the caller's one transaction (the caller commits).

The e-mail's token is sealed with the instance's vault (the master key, outside the database)
in the outbox row and opened only when the e-mail is written; the row forgets it once sent.
With the hospital's sign-on configured no token is queued at all: the e-mail sends the person
to the sign-on, and no password is ever set.
"""

from __future__ import annotations

from consent.accounts import invitations
from consent.accounts.journal import record_admin_action
from consent.accounts.models import AccountInvitation, Team
from consent.db import AnySession
from consent.notifications.service import notify_invitation, withdraw_invitation_mail
from consent.runtime import Runtime


def _queue(session: AnySession, rt: Runtime, invitation: AccountInvitation, token: str) -> None:
    sealed = None if rt.settings.sign_on else rt.vault.seal_service_secret(token.encode())
    notify_invitation(session, invitation, sealed)


def invite_account(
    session: AnySession,
    rt: Runtime,
    *,
    admin_id: int,
    email: str,
    display_name: str,
    role: str,
    team: Team,
) -> AccountInvitation:
    """Raises InvalidInput (see consent.accounts.invitations.invite)."""
    invitation, token = invitations.invite(
        session,
        email=email,
        display_name=display_name,
        role=role,
        team=team,
        created_by=admin_id,
        hours=rt.settings.invitation_hours,
    )
    _queue(session, rt, invitation, token)
    record_admin_action(
        session, account_id=admin_id, action="account.invited", object_id=invitation.account_id
    )
    return invitation


def resend_invitation(
    session: AnySession, rt: Runtime, invitation: AccountInvitation, *, admin_id: int
) -> None:
    """A new token and a new expiry, e-mailed again; the former link stops working."""
    token = invitations.renew(session, invitation, hours=rt.settings.invitation_hours)
    _queue(session, rt, invitation, token)
    record_admin_action(
        session,
        account_id=admin_id,
        action="account.invitation_resent",
        object_id=invitation.account_id,
    )


def cancel_invitation(session: AnySession, invitation: AccountInvitation, *, admin_id: int) -> None:
    """The link stops working, and an e-mail not sent yet is not sent."""
    invitations.cancel(session, invitation)
    withdraw_invitation_mail(session, invitation.id)
    record_admin_action(
        session,
        account_id=admin_id,
        action="account.invitation_cancelled",
        object_id=invitation.account_id,
    )
