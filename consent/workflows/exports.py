"""Gather what the FHIR and ISO/IEC TS 27560 mappings need, from verified receipts only.

Every receipt read here is checked byte for byte against its signature first: a row edited in
the database raises IntegrityFailure rather than flowing into an export (invariant 4).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select

from consent import clock
from consent.consents.models import Consent, Withdrawal
from consent.consents.service import get_consent, receipt_envelope
from consent.crypto.receipts import verify_stored
from consent.db import db
from consent.db.types import rfc3339
from consent.errors import BadRequest, IntegrityFailure, NotFound, VerificationError
from consent.interop import fhir, iso27560
from consent.patients.models import Patient, PatientErasure
from consent.runtime import runtime

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


def _public(path: str) -> str:
    return str(current_app.config["CONSENT_PUBLIC_URL"]).rstrip("/") + path


def _verified_withdrawals(consent_id: str) -> list[tuple[Withdrawal, dict[str, Any]]]:
    keyring = runtime().keyring
    found = []
    for row in db.session.scalars(
        select(Withdrawal).where(Withdrawal.consent_id == consent_id).order_by(Withdrawal.log_index)
    ):
        try:
            body = verify_stored(
                body_bytes=row.receipt, signature=row.signature, key_id=row.key_id, keys=keyring
            )
        except VerificationError as exc:
            raise IntegrityFailure(f"The stored receipt of {row.id} does not verify.") from exc
        if body.get("consent_id") != consent_id:
            raise IntegrityFailure(f"Withdrawal {row.id} names another consent.")
        found.append((row, body))
    return found


def _erasure(patient_id: str) -> PatientErasure | None:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.erased_at is None:
        return None
    return db.session.scalar(select(PatientErasure).where(PatientErasure.patient_id == patient_id))


def _receipt_document(consent: Consent) -> fhir.ReceiptDocument:
    """The receipt PDF as GET .../receipt.pdf serves it (the same render, through the cache)."""
    from consent.documents.render import render
    from consent.workflows.documents import receipt_job

    pdf = render(receipt_job(consent.id))
    return fhir.ReceiptDocument(
        url=_public(f"/api/v1/consents/{consent.id}/receipt.pdf"),
        sha1_base64=base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()).decode(),
        sha256_hex=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
    )


def _fhir_facts(consent: Consent) -> fhir.ConsentFacts:
    body = receipt_envelope(consent)["receipt"]
    withdrawn = {p for _, w in _verified_withdrawals(consent.id) for p in w["purposes"]}
    erased = _erasure(consent.patient_id) is not None
    return fhir.ConsentFacts(
        receipt=body,
        withdrawn=frozenset(withdrawn),
        expired=body["expires_at"] <= rfc3339(clock.now()),
        erased=erased,
        base_url=str(current_app.config["CONSENT_PUBLIC_URL"]),
        # The PDF shows the patient's images and code: there is none once they are erased.
        document=None if erased else _receipt_document(consent),
    )


def fhir_consent(consent_id: str, version: str) -> dict[str, Any]:
    """The consent as a FHIR Consent of ``version``. Raises NotFound, IntegrityFailure."""
    return fhir.consent_resource(_fhir_facts(get_consent(consent_id)), version)


def fhir_patient_bundle(patient_id: str, version: str) -> dict[str, Any]:
    """Every consent of the patient, oldest first, as a FHIR collection Bundle.

    Erased patients keep their (inactive) consents: the evidence outlives the identity.
    Raises NotFound for an unknown patient.
    """
    if db.session.get(Patient, patient_id) is None:
        raise NotFound(f"No patient {patient_id}.")
    consents = db.session.scalars(
        select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.log_index)
    ).all()
    resources = [
        (consent.id, fhir.consent_resource(_fhir_facts(consent), version)) for consent in consents
    ]
    return fhir.bundle(
        resources, bundle_id=f"consents_{patient_id}", timestamp=rfc3339(clock.now())
    )


def iso_record(consent_id: str, record_format: str) -> dict[str, Any]:
    """The consent as an ISO/IEC TS 27560 record. Raises NotFound, IntegrityFailure."""
    consent = get_consent(consent_id)
    body = receipt_envelope(consent)["receipt"]
    now = rfc3339(clock.now())
    events = [
        iso27560.Event("given", body["issued_at"], consent.id, body["log_index"]),
    ]
    withdrawn: set[str] = set()
    for row, withdrawal in _verified_withdrawals(consent.id):
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
    erasure = _erasure(consent.patient_id)
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
        dpo_contact=str(current_app.config["CONSENT_DPO_CONTACT"]),
        notice_url=_public("/api/v1/forms"),
        withdrawal_url=_public("/withdraw"),
    )
    return iso27560.consent_record(facts, record_format)
