"""The two documents: the blank form of an open request, and the receipt of a consent.

Each function checks what the caller may have (the request is open, the consent exists and its
receipt verifies, the patient is not erased) and describes the document as a ``PdfJob``;
``render`` turns it into PDF bytes, or takes them from the cache.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, url_for

from consent.consents.service import (
    get_consent,
    get_request,
    receipt_envelope,
    request_media,
    requested_uses,
    withdrawal_code,
)
from consent.db import db
from consent.documents.render import PDF_A_3B, PdfAttachment, PdfJob
from consent.documents.thumbnails import MediaRef
from consent.errors import Conflict
from consent.forms.models import FormVersion
from consent.patients.service import data_key, get_patient
from consent.records.proofs import bundle_as_appended
from consent.verify.public import published_keys

# The patient's withdrawal page (consent.pages.withdraw). The code rides in the fragment, which
# browsers never send to a server: it stays out of access logs, proxies and Referer headers.
# The page's script reads it from there (or the patient types it; it is printed beside the QR).
WITHDRAW_PATH = "/withdraw"

RECEIPT_FILE = "receipt.json"
PROOF_FILE = "receipt.tlog-proof"
KEYS_FILE = "consent-keys.json"
VKEY_FILE = "consent-keys.vkey"


def public_url(path: str) -> str:
    """An address on the service's public base URL, as printed on paper."""
    return str(current_app.config["CONSENT_PUBLIC_URL"]).rstrip("/") + path


def withdrawal_link(code: str) -> str:
    """The patient's withdrawal page with their code: the receipt's QR code, the API answers."""
    return public_url(WITHDRAW_PATH) + "#code=" + code


def _form(form_version_id: int) -> tuple[FormVersion, dict[str, Any]]:
    form = db.session.get_one(FormVersion, form_version_id)
    return form, json.loads(form.definition)


def _form_meta(form: FormVersion) -> dict[str, Any]:
    return {
        "id": form.form_id,
        "version": form.version,
        "language": form.language,
        "sha256": form.text_sha256,
    }


def evidence_attachments(
    envelope: dict[str, Any],
    keys: dict[str, Any],
    *,
    log_index: int,
    receipt_file: str,
    proof_file: str,
    receipt_description: str,
) -> tuple[PdfAttachment, ...]:
    """What a receipt PDF carries so that anyone can check it without the hospital: the signed
    envelope, its inclusion proof with a checkpoint, and the public keys in both forms."""
    return (
        PdfAttachment(
            receipt_file,
            (json.dumps(envelope, indent=2, ensure_ascii=False) + "\n").encode(),
            f"{receipt_description} (JSON envelope, Ed25519 over RFC 8785 JSON)",
            relationship="Source",
        ),
        PdfAttachment(
            proof_file,
            bundle_as_appended(log_index).encode(),
            "Its inclusion proof in the log, with a signed checkpoint (c2sp.org/tlog-proof)",
        ),
        PdfAttachment(
            KEYS_FILE,
            (json.dumps(keys, indent=2) + "\n").encode(),
            "The service's public keys, as published at /.well-known/consent-keys",
        ),
        PdfAttachment(
            VKEY_FILE,
            "".join(key["vkey"] + "\n" for key in keys["keys"]).encode(),
            "The same keys as signed-note verifier keys, one a line",
        ),
    )


def _media(request_id: str) -> tuple[MediaRef, ...]:
    items = request_media(request_id)
    return tuple(
        MediaRef(
            media_id=item.id,
            patient_id=item.patient_id,
            sha256=item.sha256,
            media_type=item.media_type,
            erased=item.bytes_erased_at is not None,
        )
        for item in items
    )


def form_job(request_id: str) -> PdfJob:
    """The blank paper form of an open request.

    Raises NotFound (no such request), Conflict (already decided: a blank form would invite a
    second decision), Gone (the patient was erased).
    """
    request = get_request(request_id)
    if request.status != "open":
        raise Conflict("This request already has a decision; its blank form cannot be printed.")
    get_patient(request.patient_id)
    form, definition = _form(request.form_version_id)
    uses = [
        {
            "purpose": use.purpose,
            "channels": json.loads(use.channels),
            "label": definition["purposes"][use.purpose]["label"],
            "explanation": definition["purposes"][use.purpose]["explanation"],
        }
        for use in requested_uses(request_id)
    ]
    content = {
        "form": _form_meta(form),
        "title": definition["title"],
        "sections": definition["sections"],
        "audience": definition.get("audience", "patient"),
        "uses": uses,
        "expires_at": request.expires_at.isoformat(),
        "clinician": request.clinician_name,
        "controller": current_app.config["CONSENT_CONTROLLER"],
        "request_id": request.id,
        # Stable, and no secret on paper: the request's paper-upload page (clinician log-in),
        # where the signed sheet's scan and its ticks are entered. Not a tablet link: a link is
        # single-use and lives minutes, a sheet lives days.
        "qr_url": public_url(url_for("paper.paper_form", request_id=request.id)),
    }
    return PdfJob(
        template="pdf/form.html",
        locale=form.language,
        content=content,
        media=_media(request_id),
        filename=f"consent-form-{request.id}.pdf",
    )


def receipt_job(consent_id: str) -> PdfJob:
    """The patient's receipt of a consent, as issued, PDF/A-3b with its proof files attached.

    A receipt is immutable, so is this document: what the consent allows today (after a
    withdrawal, or past the expiry) is on the public page its QR code opens.
    Raises NotFound, Gone (the patient was erased: no thumbnails, no code), IntegrityFailure
    (the stored receipt does not verify).
    """
    consent = get_consent(consent_id)
    envelope = receipt_envelope(consent)
    body = envelope["receipt"]
    request = get_request(consent.request_id)
    form, definition = _form(request.form_version_id)
    data_key(consent.patient_id)  # Gone once erased, before anything is shown
    code = withdrawal_code(consent)
    keys = published_keys()
    uses = [
        {
            "purpose": use["purpose"],
            "channels": use["channels"],
            "granted": use["granted"],
            "label": definition["purposes"][use["purpose"]]["label"],
            "explanation": definition["purposes"][use["purpose"]]["explanation"],
        }
        for use in body["uses"]
    ]
    content = {
        "form": _form_meta(form),
        "title": definition["title"],
        "consent_id": consent.id,
        "issued_at": body["issued_at"],
        "expires_at": body["expires_at"],
        "log_index": body["log_index"],
        "key_id": envelope["key_id"],
        "signer": body["signer"],
        "clinician": body["informed_by"]["clinician"],
        "controller": body["controller"],
        "uses": uses,
        "code": code,
        "verify_url": public_url(url_for("public.consent_page", consent_id=consent.id)),
        "withdraw_url": withdrawal_link(code),
        "withdraw_page": public_url(WITHDRAW_PATH),
        "files": [RECEIPT_FILE, PROOF_FILE, KEYS_FILE, VKEY_FILE],
    }
    attachments = evidence_attachments(
        envelope,
        keys,
        log_index=consent.log_index,
        receipt_file=RECEIPT_FILE,
        proof_file=PROOF_FILE,
        receipt_description="The signed consent receipt",
    )
    return PdfJob(
        template="pdf/receipt.html",
        locale=form.language,
        content=content,
        media=_media(request.id),
        attachments=attachments,
        variant=PDF_A_3B,
        filename=f"consent-receipt-{consent.id}.pdf",
    )
