"""Gather what the FHIR and ISO/IEC TS 27560 mappings need, from verified receipts only.

Every receipt read here is checked byte for byte against its signature first: a row edited in
the database raises IntegrityFailure rather than flowing into an export (invariant 4).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from consent import clock
from consent.accounts.scope import Scope
from consent.consents.decisions import get_consent
from consent.consents.models import Consent, Withdrawal
from consent.consents.withdrawals import withdrawals_of
from consent.db import AnySession
from consent.db.types import rfc3339
from consent.documents.render import render
from consent.errors import BadRequest, IntegrityFailure, NotFound
from consent.forms.glossary import use_label
from consent.interop import fhir, iso27560
from consent.patients.models import Patient, PatientErasure
from consent.records.envelope import verified_receipt
from consent.runtime import Runtime
from consent.workflows.documents import receipt_job

VERSION_ERROR = "Name the FHIR version: ?version=R4 or ?version=R5."
FORMAT_ERROR = "Name the record format: ?format=iso27560."


def fhir_version(args: Mapping[str, str]) -> str:
    """The ?version of a FHIR request. Raises BadRequest when missing or unknown.

    No default: R4 and R5 resources differ in shape, and a client that forgot to say which
    it reads should hear so rather than get the other one.
    """
    return _one_of(args, "version", fhir.VERSIONS, VERSION_ERROR)


def record_format(args: Mapping[str, str]) -> str:
    """The ?format of a record request. Raises BadRequest when missing or unknown."""
    return _one_of(args, "format", iso27560.FORMATS, FORMAT_ERROR)


def _one_of(args: Mapping[str, str], name: str, allowed: Sequence[str], message: str) -> str:
    value = args.get(name)
    if value is None or value not in allowed:
        got = "none" if value is None else repr(value[:20])
        raise BadRequest(f"{message} Got {got}.", errors={name: [f"One of {', '.join(allowed)}."]})
    return value


def _verified_withdrawals(
    session: AnySession, rt: Runtime, consent_id: str
) -> list[tuple[Withdrawal, dict[str, Any]]]:
    found = []
    for row in withdrawals_of(session, consent_id):
        body = verified_receipt(row, rt.keyring)
        if body.get("consent_id") != consent_id:
            raise IntegrityFailure(f"Withdrawal {row.id} names another consent.")
        found.append((row, body))
    return found


def _erasure(session: AnySession, patient_id: str) -> PatientErasure | None:
    patient = session.get(Patient, patient_id)
    if patient is None or patient.erased_at is None:
        return None
    return session.scalar(select(PatientErasure).where(PatientErasure.patient_id == patient_id))


def _receipt_document(
    session: AnySession, rt: Runtime, consent: Consent, scope: Scope
) -> fhir.ReceiptDocument:
    """The receipt PDF as GET .../receipt.pdf serves it (the same render, through the cache)."""
    job = receipt_job(session, rt, consent.id, scope=scope)
    pdf = render(
        job, cache_=rt.pdf_cache, max_pixels=rt.settings.max_image_pixels, sealer=rt.sealer
    )
    return fhir.ReceiptDocument(
        url=rt.links.receipt_pdf(consent.id),
        sha1_base64=base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()).decode(),
        sha256_hex=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
    )


def _fhir_facts(
    session: AnySession, rt: Runtime, consent: Consent, scope: Scope
) -> fhir.ConsentFacts:
    body = verified_receipt(consent, rt.keyring)
    withdrawn = {
        p for _, w in _verified_withdrawals(session, rt, consent.id) for p in w["purposes"]
    }
    erased = _erasure(session, consent.patient_id) is not None
    return fhir.ConsentFacts(
        receipt=body,
        withdrawn=frozenset(withdrawn),
        expired=body["expires_at"] <= rfc3339(clock.now()),
        erased=erased,
        base_url=rt.settings.public_url,
        use_names={use["purpose"]: use_label(use["purpose"], "en") for use in body["uses"]},
        # The PDF shows the patient's images and code: there is none once they are erased.
        document=None if erased else _receipt_document(session, rt, consent, scope),
    )


def fhir_consent(
    session: AnySession, rt: Runtime, consent_id: str, version: str, *, scope: Scope
) -> dict[str, Any]:
    """The consent as a FHIR Consent of ``version``. Raises NotFound, IntegrityFailure."""
    consent = get_consent(session, consent_id, scope=scope)
    return fhir.consent_resource(_fhir_facts(session, rt, consent, scope), version)


def fhir_patient_bundle(
    session: AnySession, rt: Runtime, patient_id: str, version: str, *, scope: Scope
) -> dict[str, Any]:
    """Every consent of the patient, oldest first, as a FHIR collection Bundle.

    Erased patients keep their (inactive) consents: the evidence outlives the identity.
    Raises NotFound for an unknown patient.
    """
    patient = session.get(Patient, patient_id)
    if patient is None or not scope.allows(patient.team_id):
        raise NotFound(f"No patient {patient_id}.")
    consents = session.scalars(
        select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.log_index)
    ).all()
    resources = [
        (consent.id, fhir.consent_resource(_fhir_facts(session, rt, consent, scope), version))
        for consent in consents
    ]
    return fhir.bundle(
        resources, bundle_id=f"consents_{patient_id}", timestamp=rfc3339(clock.now())
    )


def iso_record(
    session: AnySession, rt: Runtime, consent_id: str, record_format: str, *, scope: Scope
) -> dict[str, Any]:
    """The consent as an ISO/IEC TS 27560 record. Raises NotFound, IntegrityFailure."""
    consent = get_consent(session, consent_id, scope=scope)
    body = verified_receipt(consent, rt.keyring)
    now = rfc3339(clock.now())
    events = [
        iso27560.Event("given", body["issued_at"], consent.id, body["log_index"]),
    ]
    withdrawn: set[str] = set()
    for row, withdrawal in _verified_withdrawals(session, rt, consent.id):
        withdrawn.update(withdrawal["purposes"])
        events.append(
            iso27560.Event(
                "withdrawn",
                withdrawal["issued_at"],
                row.id,
                withdrawal["log_index"],
                tuple(withdrawal["purposes"]),
            )
        )
    expired = body["expires_at"] <= now
    if expired:
        events.append(iso27560.Event("expired", body["expires_at"]))
    erasure = _erasure(session, consent.patient_id)
    if erasure is not None:
        events.append(
            iso27560.Event("erased", rfc3339(erasure.issued_at), erasure.id, erasure.log_index)
        )
    events.sort(key=lambda event: event.at)
    facts = iso27560.RecordFacts(
        receipt=body,
        receipt_bytes=consent.receipt,
        key_id=consent.key_id,
        withdrawn=frozenset(withdrawn),
        expired=expired,
        erased=erasure is not None,
        events=tuple(events),
        dpo_contact=rt.settings.dpo_contact,
        notice_url=rt.links.forms(),
        withdrawal_url=rt.links.withdraw_page(),
    )
    return iso27560.consent_record(facts, record_format)
