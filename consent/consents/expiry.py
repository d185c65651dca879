"""Consents given for a minor, and consents whose end date passed: what the expiry run and
the review list need. Neither rewrites a receipt nor revokes anything.

A consent given for a minor (the patient under 18 on the day it was issued, from the birth date
sealed in the vault) is due for review on their 18th birthday: the form tells the parents that
the child will then be asked to decide for themselves. It stays in force until then and after;
it is listed, never revoked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select

from consent import clock
from consent.accounts.scope import EVERY_TEAM
from consent.consents.models import Consent, ConsentUse, MajorityReview
from consent.crypto.vault import Vault
from consent.db import AnySession
from consent.errors import Gone
from consent.patients.service import identity

AGE_OF_MAJORITY = 18  # Code civil, art. 414


def majority_date(birth: date) -> date:
    """The 18th birthday; 1 March for someone born on 29 February, in a common year."""
    try:
        return birth.replace(year=birth.year + AGE_OF_MAJORITY)
    except ValueError:
        return date(birth.year + AGE_OF_MAJORITY, 3, 1)


def assessment(
    session: AnySession, vault: Vault, *, consent_id: str, patient_id: str, issued_at: datetime
) -> dict[str, Any]:
    """The majority_reviews row of a consent: minor or not on the day it was issued, and if so
    the day of review. A patient already erased has no birth date left: not flagged."""
    try:
        sealed = identity(session, vault, patient_id, scope=EVERY_TEAM)
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


def flag_if_minor(
    session: AnySession, vault: Vault, *, consent_id: str, patient_id: str, issued_at: datetime
) -> MajorityReview:
    """Add the consent's assessment to the current transaction (recording a decision)."""
    values = assessment(
        session, vault, consent_id=consent_id, patient_id=patient_id, issued_at=issued_at
    )
    row = MajorityReview(**values, assessed_at=clock.now())
    session.add(row)
    return row


@dataclass(frozen=True)
class DueReview:
    """A consent given for a minor who is now (or soon) of age, still granting some use."""

    consent_id: str
    patient_id: str
    review_on: date
    signer: dict[str, str]
    purposes: list[str]
    expires_at: datetime


def due_reviews(
    session: AnySession, now: datetime | None = None, *, within_days: int = 0
) -> list[DueReview]:
    """Consents given for a minor whose 18th birthday is today or earlier (or within
    ``within_days``), not expired and still granting a use that was not withdrawn."""
    now = now or clock.now()
    until = now.date() + timedelta(days=within_days)
    active = and_(
        ConsentUse.consent_id == Consent.id,
        ConsentUse.granted.is_(True),
        ConsentUse.withdrawal_id.is_(None),
    )
    rows = session.execute(
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
    granted = _active_purposes(session, [row.id for row in rows])
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


def _active_purposes(session: AnySession, consent_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not consent_ids:
        return out
    for consent_id, purpose in session.execute(
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
