"""A request's stage, stored on the request and kept up to date by each event that changes it.

The stage is what the records say apart from the date: waiting for the patient, waiting for
the clinician's confirmation, decided, partly withdrawn, withdrawn, erased. Each event that
changes it (a submission waiting, a submission taken, a decision, a withdrawal, an erasure)
calls ``refresh_stages`` in its own transaction, after its rows are flushed; the stage is
recomputed from the records (``computed_stage``), never set by hand, so it cannot drift from
them. Expiry needs no event: the worklist compares the request's end date (the consent's, which
copies it) with today. tests/consents/test_stage.py holds the two to agree over event
sequences.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, exists, literal, select
from sqlalchemy.sql.elements import ColumnElement

from consent.consents.models import Consent, ConsentRequest, ConsentUse, PendingDecision
from consent.db import AnySession
from consent.patients.models import Patient

STAGES = (
    "waiting_patient",
    "waiting_confirmation",
    "decided",
    "partly_withdrawn",
    "withdrawn",
    "erased",
)


def computed_stage() -> ColumnElement[str]:
    """The stage of ConsentRequest, from the records (joined with Patient, outer-joined with
    Consent): the reference the stored column is checked against."""
    active = exists().where(
        ConsentUse.consent_id == Consent.id,
        ConsentUse.granted.is_(True),
        ConsentUse.withdrawal_id.is_(None),
    )
    withdrawn = exists().where(
        ConsentUse.consent_id == Consent.id, ConsentUse.withdrawal_id.is_not(None)
    )
    pending = exists().where(PendingDecision.request_id == ConsentRequest.id)
    return case(
        (Patient.erased_at.is_not(None), literal("erased")),
        (and_(Consent.id.is_(None), pending), literal("waiting_confirmation")),
        (Consent.id.is_(None), literal("waiting_patient")),
        (and_(withdrawn, ~active), literal("withdrawn")),
        (withdrawn, literal("partly_withdrawn")),
        else_=literal("decided"),
    )


def stages_from_records(session: AnySession, request_ids: Iterable[str]) -> dict[str, str]:
    """Each request's stage as its records say it."""
    wanted = sorted(set(request_ids))
    if not wanted:
        return {}
    query = (
        select(ConsentRequest.id, computed_stage())
        .join(Patient, Patient.id == ConsentRequest.patient_id)
        .outerjoin(Consent, Consent.request_id == ConsentRequest.id)
        .where(ConsentRequest.id.in_(wanted))
    )
    return {request_id: str(stage) for request_id, stage in session.execute(query)}


def refresh_stages(session: AnySession, request_ids: Iterable[str]) -> None:
    """Store each request's stage as its records say it (in the caller's transaction)."""
    session.flush()
    for request_id, stage in stages_from_records(session, request_ids).items():
        request = session.get_one(ConsentRequest, request_id)
        if request.stage != stage:
            request.stage = stage
    session.flush()


def refresh_patient(session: AnySession, patient_id: str) -> None:
    """Store the stage of every request of a patient (after an erasure)."""
    ids = session.scalars(select(ConsentRequest.id).where(ConsentRequest.patient_id == patient_id))
    refresh_stages(session, list(ids))
