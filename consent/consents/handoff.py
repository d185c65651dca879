"""The patient's own copy, handed over to their phone (issue 21).

At the end of the tablet flow the page shows a QR code; the patient scans it with their phone and
gets, on the phone, the receipt PDF and the withdrawal code. The QR code carries a token that
lasts HANDOFF_MINUTES and works on one device: the first that opens it. Only the token's hash is
kept. Nothing is downloaded to the hospital's tablet unless the patient asks for it there.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import delete, select

from consent import clock
from consent.consents.models import ReceiptHandoff
from consent.db import AnySession

# Long enough to find one's phone and scan; short enough that a photo of the screen is of no
# use later. Stated on the tablet and on the phone.
HANDOFF_MINUTES = 10
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class IssuedHandoff:
    token: str
    expires_at: datetime


class HandoffProblem(Exception):
    """Why a phone link cannot be used: ``unknown``, ``expired`` or ``other_device``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_handoff(session: AnySession, consent_id: str) -> IssuedHandoff:
    """A new phone link for a consent; earlier ones not yet opened stop working."""
    now = clock.now()
    session.execute(
        delete(ReceiptHandoff).where(
            ReceiptHandoff.consent_id == consent_id, ReceiptHandoff.device.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=HANDOFF_MINUTES)
    session.add(
        ReceiptHandoff(
            consent_id=consent_id, token_hash=_hash(token), created_at=now, expires_at=expires_at
        )
    )
    session.flush()
    return IssuedHandoff(token, expires_at)


def open_handoff(session: AnySession, token: str, device: str) -> ReceiptHandoff:
    """The phone link ``token``, bound to ``device`` (the first to open it).

    Raises HandoffProblem.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise HandoffProblem("unknown")
    handoff = session.scalar(
        select(ReceiptHandoff).where(ReceiptHandoff.token_hash == _hash(token))
    )
    if handoff is None:
        raise HandoffProblem("unknown")
    if clock.now() >= handoff.expires_at:
        raise HandoffProblem("expired")
    if handoff.device is None:
        handoff.device = _hash(device)
        session.flush()
    elif handoff.device != _hash(device):
        raise HandoffProblem("other_device")
    return cast(ReceiptHandoff, handoff)
