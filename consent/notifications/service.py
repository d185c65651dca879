"""Queueing e-mail to staff in the caller's transaction, and finding what is due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from consent import clock
from consent.accounts.invitations import is_pending
from consent.accounts.models import Account, AccountInvitation, Membership, Team
from consent.consents.models import Consent, ConsentRequest
from consent.db import AnySession
from consent.db.types import new_id
from consent.notifications.models import EmailMessage


def notify_withdrawal(session: AnySession, consent: Consent) -> list[EmailMessage]:
    """Queue "a patient withdrew" for the clinician who informed the patient and, when the
    team chose so, for every other member with a staff page (clinicians and administrators).
    Nobody for a request that names no account (requests from before teams) and a team that
    did not choose the whole team; people who turned their e-mails off are skipped."""
    request = session.get_one(ConsentRequest, consent.request_id)
    team = session.get_one(Team, consent.team_id)
    recipients: list[int] = []
    if request.account_id is not None:
        recipients.append(request.account_id)
    if team.withdrawal_notices_to_team:
        recipients += [
            account_id
            for account_id in session.scalars(
                select(Membership.account_id)
                .join(Account, Account.id == Membership.account_id)
                .where(
                    Membership.team_id == team.id,
                    Account.role.in_(("clinician", "admin")),
                    Account.disabled_at.is_(None),
                    ~_invited_not_joined(),
                )
                .order_by(Membership.account_id)
            )
            if account_id not in recipients
        ]
    wanted = set(
        session.scalars(
            select(Account.id).where(Account.id.in_(recipients), Account.notification_emails)
        )
    )
    messages = [
        EmailMessage(
            id=new_id("em"),
            team_id=consent.team_id,
            account_id=account_id,
            request_id=request.id,
            kind="consent.withdrawn",
            next_attempt_at=clock.now(),
        )
        for account_id in recipients
        if account_id in wanted
    ]
    session.add_all(messages)
    return messages


def _invited_not_joined() -> Any:
    """Accounts made by an invitation that was never accepted: the address may be mistyped,
    and nobody there has joined the team yet, so its patients' news is not theirs."""
    invited = select(AccountInvitation.id).where(AccountInvitation.account_id == Account.id)
    joined = invited.where(AccountInvitation.used_at.is_not(None))
    return invited.exists() & ~joined.exists()


# A signature still waiting for the clinician's confirmation this long gets them an e-mail.
WAITING_MINUTES = 5


def notify_waiting(session: AnySession, request_id: str) -> EmailMessage | None:
    """Queue "a signature waits for your confirmation" for the informing clinician, due in
    WAITING_MINUTES; the sender cancels it if the request no longer waits by then."""
    request = session.get_one(ConsentRequest, request_id)
    if request.account_id is None:
        return None
    message = EmailMessage(
        id=new_id("em"),
        team_id=request.team_id,
        account_id=request.account_id,
        request_id=request.id,
        kind="signature.waiting",
        next_attempt_at=clock.now() + timedelta(minutes=WAITING_MINUTES),
    )
    session.add(message)
    return message


def notify_invitation(
    session: AnySession, invitation: AccountInvitation, secret_sealed: bytes | None
) -> EmailMessage:
    """Queue the invitation's e-mail to the invited person, with its token sealed by the
    vault (None with the hospital's sign-on: the e-mail sends them there, with no token).
    Whatever was still queued for the same invitation (an older token) is cancelled."""
    withdraw_invitation_mail(session, invitation.id)
    message = EmailMessage(
        id=new_id("em"),
        team_id=invitation.team_id,
        account_id=invitation.account_id,
        request_id=None,
        kind="account.invited",
        next_attempt_at=clock.now(),
        invitation_id=invitation.id,
        secret_sealed=secret_sealed,
    )
    session.add(message)
    session.flush()
    return message


def withdraw_invitation_mail(session: AnySession, invitation_id: str) -> None:
    """Cancel the invitation's e-mails not sent yet, and erase their sealed tokens."""
    for message in session.scalars(
        select(EmailMessage).where(
            EmailMessage.invitation_id == invitation_id, EmailMessage.state == "pending"
        )
    ):
        message.state, message.secret_sealed = "cancelled", None


def still_true(session: AnySession, message: EmailMessage) -> bool:
    """Whether what the message says still holds when it is sent."""
    if message.kind == "account.invited":
        invitation = (
            session.get(AccountInvitation, message.invitation_id) if message.invitation_id else None
        )
        return (
            invitation is not None
            and is_pending(invitation)
            and invitation.expires_at > clock.now()
        )
    if message.kind != "signature.waiting":
        return True
    if message.request_id is None:
        return False
    request = session.get(ConsentRequest, message.request_id)
    return request is not None and request.stage == "waiting_confirmation"


def due(session: AnySession, *, now: datetime, limit: int) -> list[EmailMessage]:
    """Pending messages whose time has come, oldest first; rows locked (and those locked by
    another sender skipped) on PostgreSQL."""
    query = (
        select(EmailMessage)
        .where(EmailMessage.state == "pending", EmailMessage.next_attempt_at <= now)
        .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))
