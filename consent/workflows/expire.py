"""Expiring consents past their end date, and listing consents given for a minor who has
come of age. Neither rewrites a receipt nor revokes anything.

Verify already answers ``expired`` past a consent's end date (consent.verify.service.decide
compares the signed ``expires_at`` with the clock); ``expire_due`` records the expiry once
per consent and tells subscribed publishers (``consent.expired``). A consent given for a
minor (the patient under 18 on the day it was issued, from the birth date sealed in the
vault) is due for review on their 18th birthday: the form tells the parents that the child
will then be asked to decide for themselves. It stays in force until then and after; it is
listed, never revoked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select

from consent import clock
from consent.consents.expiry_models import ConsentExpiry, MajorityReview
from consent.consents.models import Consent, ConsentUse
from consent.db import db
from consent.db.types import insert_unless_present
from consent.errors import Gone
from consent.patients.service import identity
from consent.webhooks.events import consent_expired, media_sha256

AGE_OF_MAJORITY = 18  # Code civil, art. 414
# Consents handled per transaction by the expiry run.
BATCH = 500


def majority_date(birth: date) -> date:
    """The 18th birthday; 1 March for someone born on 29 February, in a common year."""
    try:
        return birth.replace(year=birth.year + AGE_OF_MAJORITY)
    except ValueError:
        return date(birth.year + AGE_OF_MAJORITY, 3, 1)


def assessment(*, consent_id: str, patient_id: str, issued_at: datetime) -> dict[str, Any]:
    """The majority_reviews row of a consent: minor or not on the day it was issued, and if so
    the day of review. A patient already erased has no birth date left: not flagged."""
    try:
        sealed = identity(patient_id)
    except Gone:
        return {"consent_id": consent_id, "minor": False, "review_on": None, "basis": "erased"}
    adult_on = majority_date(date.fromisoformat(sealed["birth_date"]))
    minor = issued_at.date() < adult_on
    return {
        "consent_id": consent_id,
        "minor": minor,
        "review_on": adult_on if minor else None,
        "basis": "birth_date",
    }


def flag_if_minor(*, consent_id: str, patient_id: str, issued_at: datetime) -> MajorityReview:
    """Add the consent's assessment to the current transaction (recording a decision)."""
    row = MajorityReview(
        **assessment(consent_id=consent_id, patient_id=patient_id, issued_at=issued_at),
        assessed_at=clock.now(),
    )
    db.session.add(row)
    return row


def assess_unassessed() -> int:
    """Assess the consents recorded before assessments were kept. Returns how many. Commits."""
    dialect = db.session.get_bind().dialect.name
    count = 0
    while True:
        rows = db.session.execute(
            select(Consent.id, Consent.patient_id, Consent.issued_at)
            .where(~exists().where(MajorityReview.consent_id == Consent.id))
            .order_by(Consent.issued_at, Consent.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return count
        now = clock.now()
        for row in rows:
            values = assessment(
                consent_id=row.id, patient_id=row.patient_id, issued_at=row.issued_at
            )
            db.session.execute(
                insert_unless_present(MajorityReview.__table__, dialect).values(
                    **values, assessed_at=now
                )
            )
        db.session.commit()
        count += len(rows)


@dataclass(frozen=True)
class ExpiredConsent:
    consent_id: str
    expires_at: datetime
    # Outbox rows written for it (one per subscribed endpoint).
    notified: int


def expire_due(now: datetime | None = None) -> list[ExpiredConsent]:
    """Record every consent whose end date has passed and has not been recorded yet, and emit
    its consent.expired in the same transaction. Idempotent: a consent is recorded, and its
    event emitted, once, however often (or however concurrently) this runs. Commits."""
    now = now or clock.now()
    dialect = db.session.get_bind().dialect.name
    expired: list[ExpiredConsent] = []
    while True:
        rows = db.session.execute(
            select(Consent.id, Consent.log_index, Consent.expires_at, Consent.receipt)
            .where(
                Consent.expires_at <= now,
                ~exists().where(ConsentExpiry.consent_id == Consent.id),
            )
            .order_by(Consent.expires_at, Consent.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return expired
        for row in rows:
            inserted = db.session.execute(
                insert_unless_present(ConsentExpiry.__table__, dialect)
                .values(consent_id=row.id, expired_at=row.expires_at, recorded_at=now)
                .returning(ConsentExpiry.__table__.c.consent_id)
            ).first()
            if inserted is None:  # another run recorded it (and told the publishers)
                continue
            notified = consent_expired(
                consent_id=row.id,
                log_index=row.log_index,
                expired_at=row.expires_at,
                media=media_sha256(row.receipt),
            )
            expired.append(ExpiredConsent(row.id, row.expires_at, notified))
        db.session.commit()


@dataclass(frozen=True)
class DueReview:
    """A consent given for a minor who is now (or soon) of age, still granting some use."""

    consent_id: str
    patient_id: str
    review_on: date
    signer: dict[str, str]
    purposes: list[str]
    expires_at: datetime


def due_reviews(now: datetime | None = None, *, within_days: int = 0) -> list[DueReview]:
    """Consents given for a minor whose 18th birthday is today or earlier (or within
    ``within_days``), not expired and still granting a use that was not withdrawn."""
    now = now or clock.now()
    until = now.date() + timedelta(days=within_days)
    active = and_(
        ConsentUse.consent_id == Consent.id,
        ConsentUse.granted.is_(True),
        ConsentUse.withdrawal_id.is_(None),
    )
    rows = db.session.execute(
        select(Consent.id, Consent.patient_id, Consent.receipt, Consent.expires_at, MajorityReview)
        .join(MajorityReview, MajorityReview.consent_id == Consent.id)
        .where(
            MajorityReview.minor.is_(True),
            MajorityReview.review_on <= until,
            Consent.expires_at > now,
            exists().where(active),
        )
        .order_by(MajorityReview.review_on, Consent.id)
    ).all()
    granted = _active_purposes([row.id for row in rows])
    return [
        DueReview(
            consent_id=row.id,
            patient_id=row.patient_id,
            review_on=row.MajorityReview.review_on,
            signer=json.loads(row.receipt)["signer"],
            purposes=granted.get(row.id, []),
            expires_at=row.expires_at,
        )
        for row in rows
    ]


def _active_purposes(consent_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not consent_ids:
        return out
    for consent_id, purpose in db.session.execute(
        select(ConsentUse.consent_id, ConsentUse.purpose)
        .where(
            ConsentUse.consent_id.in_(consent_ids),
            ConsentUse.granted.is_(True),
            ConsentUse.withdrawal_id.is_(None),
        )
        .order_by(ConsentUse.purpose)
    ):
        out.setdefault(consent_id, []).append(purpose)
    return out
