"""Expiring consents past their end date, and assessing consents recorded before minors were
flagged: batch runs of `flask --app consent expire`, one transaction per batch.

Verify already answers ``expired`` past a consent's end date (consent.verify.service.decide
compares the signed ``expires_at`` with the clock); the run records the expiry once per consent
and tells subscribed publishers (``consent.expired``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from consent import clock
from consent.consents.expiry import assessment
from consent.consents.models import Consent, ConsentExpiry, MajorityReview
from consent.crypto.vault import Vault
from consent.db import AnySession
from consent.db.types import insert_unless_present
from consent.webhooks.events import consent_expired, media_sha256, text_sha256

# Consents handled per transaction by the expiry run.
BATCH = 500


def assess_batch(session: AnySession, vault: Vault) -> int:
    """Assess up to BATCH consents recorded before assessments were kept; returns how many
    (0 when none is left). The caller commits each batch."""
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        select(Consent.id, Consent.patient_id, Consent.issued_at)
        .where(~exists().where(MajorityReview.consent_id == Consent.id))
        .order_by(Consent.issued_at, Consent.id)
        .limit(BATCH)
    ).all()
    now = clock.now()
    for row in rows:
        values = assessment(
            session, vault, consent_id=row.id, patient_id=row.patient_id, issued_at=row.issued_at
        )
        session.execute(
            insert_unless_present(MajorityReview.__table__, dialect).values(
                **values, assessed_at=now
            )
        )
    return len(rows)


@dataclass(frozen=True)
class ExpiredConsent:
    consent_id: str
    expires_at: datetime
    # Outbox rows written for it (one per subscribed endpoint).
    notified: int


def expire_batch(session: AnySession, now: datetime) -> tuple[list[ExpiredConsent], bool]:
    """Record up to BATCH consents whose end date has passed and has not been recorded yet,
    each with its consent.expired event. Idempotent: a consent is recorded, and its event
    emitted, once, however often (or however concurrently) this runs.

    Returns what it expired, and whether it looked at a full batch (then call it again, after
    the caller committed this one).
    """
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        select(Consent.id, Consent.team_id, Consent.log_index, Consent.expires_at, Consent.receipt)
        .where(
            Consent.expires_at <= now,
            ~exists().where(ConsentExpiry.consent_id == Consent.id),
        )
        .order_by(Consent.expires_at, Consent.id)
        .limit(BATCH)
    ).all()
    expired: list[ExpiredConsent] = []
    for row in rows:
        inserted = session.execute(
            insert_unless_present(ConsentExpiry.__table__, dialect)
            .values(consent_id=row.id, expired_at=row.expires_at, recorded_at=now)
            .returning(ConsentExpiry.__table__.c.consent_id)
        ).first()
        if inserted is None:  # another run recorded it (and told the publishers)
            continue
        notified = consent_expired(
            session,
            team_id=row.team_id,
            consent_id=row.id,
            log_index=row.log_index,
            expired_at=row.expires_at,
            media=media_sha256(row.receipt),
            texts=text_sha256(row.receipt),
        )
        expired.append(ExpiredConsent(row.id, row.expires_at, notified))
    return expired, bool(rows)
