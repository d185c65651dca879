"""The e-mail outbox: one row per message to a staff account, written with its event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow

# account.invited: to a person an administrator invited (their account, not a patient's).
EMAIL_KINDS = ("consent.withdrawn", "signature.waiting", "consents.expiring", "account.invited")
# cancelled: no longer true when its time came (the signature was confirmed meanwhile).
EMAIL_STATES = ("pending", "sent", "dead", "cancelled")
MAX_ERROR_LENGTH = 500


def _listed(values: tuple[str, ...]) -> str:
    # Not a tuple's repr: ('a',) is not SQL.
    return ", ".join(f"'{value}'" for value in values)


class EmailMessage(db.Model):  # type: ignore[name-defined,misc]
    """A message to send: to whom (an account), about which request, of which kind. The text
    is written when it is sent, and names no patient: only a link to the request's page."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_listed(EMAIL_KINDS)})", name="kind_known"),
        CheckConstraint(f"state IN ({_listed(EMAIL_STATES)})", name="state_known"),
        Index("ix_email_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # None for a digest (consents.expiring): it links to the worklist, not to one request.
    request_id: Mapped[str | None] = mapped_column(ForeignKey("consent_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(MAX_ERROR_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # account.invited: the invitation, and its token sealed with the instance's vault (never
    # in clear; opened only to write the e-mail, and erased once sent, dead or cancelled).
    invitation_id: Mapped[str | None] = mapped_column(
        ForeignKey("account_invitations.id", ondelete="CASCADE"), index=True
    )
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
