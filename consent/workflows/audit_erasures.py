"""The audit's checks of the records that follow a patient's consents: erasures (the
identity gone, the consents withdrawn) and renditions (a publishable copy bound to its source).
See consent.workflows.audit."""

from __future__ import annotations

from sqlalchemy import select

from consent.consents.models import ConsentUse
from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.media.models import MediaItem, MediaRendition
from consent.patients.models import Patient, PatientErasure, PatientKey
from consent.records.receipts import rendition_made_by
from consent.workflows.audit_records import (
    AuditReport,
    Finding,
    logged_receipt,
    stream,
)


def check_erasures(
    session: AnySession,
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
    withdrawn: dict[tuple[str, str], str],
) -> None:
    """Each erasure: its receipt and leaf; the patient marked erased with no key left; every
    consent it names withdrawn in full; and no patient marked erased without an erasure."""
    erased_by_record = {}
    for erasure in session.scalars(select(PatientErasure).order_by(PatientErasure.log_index)):
        body = logged_receipt(report, keyring, leaves, erasure, "erasure")
        erased_by_record[erasure.patient_id] = erasure.id
        if body is None:
            continue
        if body.get("subject") != erasure.patient_id:
            report.findings.append(Finding(erasure.id, "names another patient than its row"))
        patient = session.get(Patient, erasure.patient_id)
        if patient is None or patient.erased_at is None:
            report.findings.append(Finding(erasure.id, "the patient is not marked erased"))
        if session.get(PatientKey, erasure.patient_id) is not None:
            report.findings.append(Finding(erasure.id, "the patient's data key still exists"))
        granted = session.execute(
            select(ConsentUse.consent_id, ConsentUse.purpose).where(
                ConsentUse.consent_id.in_(body.get("consents", [])), ConsentUse.granted.is_(True)
            )
        ).all()
        if any((consent_id, purpose) not in withdrawn for consent_id, purpose in granted):
            report.findings.append(Finding(erasure.id, "a consent it ended is not withdrawn"))
    for (patient_id,) in session.execute(select(Patient.id).where(Patient.erased_at.is_not(None))):
        if patient_id not in erased_by_record:
            report.findings.append(Finding(patient_id, "marked erased without an erasure receipt"))


def check_renditions(
    session: AnySession,
    report: AuditReport,
    keyring: Keyring,
    leaves: dict[str, tuple[int, str, bytes]],
) -> None:
    """Each rendition: its receipt and leaf, and its columns as signed, bound to the hash of
    the media item it was made from (verify answers for the copy on that binding alone)."""
    originals = {
        media_id: sha for media_id, sha in session.execute(select(MediaItem.id, MediaItem.sha256))
    }
    for rendition in stream(session, select(MediaRendition).order_by(MediaRendition.log_index)):
        report.renditions += 1
        body = logged_receipt(report, keyring, leaves, rendition, "rendition")
        if body is None:
            continue
        if (
            body.get("receipt_id") != rendition.id
            or body.get("sha256") != rendition.sha256
            or body.get("kind") != rendition.kind
            or body.get("phash") != rendition.phash
            or body.get("size") != rendition.size_bytes
            or rendition_made_by(body) != rendition.made_by
            or body.get("log_index") != rendition.log_index
        ):
            report.findings.append(Finding(rendition.id, "columns differ from the signed receipt"))
        if body.get("media_sha256") != originals.get(rendition.media_id):
            report.findings.append(
                Finding(rendition.id, f"not bound to media item {rendition.media_id}'s hash")
            )
