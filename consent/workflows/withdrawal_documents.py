"""The patient's withdrawal receipt as a PDF: what was withdrawn, when, what remains.

Like the consent receipt it is the record as issued (PDF/A-3b, the signed withdrawal receipt and
its log proof attached): the uses that remain are those left by this withdrawal and the ones
before it in the log, so the document never changes once issued.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from consent.consents.models import Withdrawal
from consent.consents.selfservice import get_withdrawal
from consent.consents.service import get_consent, get_request, receipt_envelope
from consent.db import db
from consent.documents.render import PDF_A_3B, PdfJob
from consent.verify.public import published_keys
from consent.workflows.documents import (
    KEYS_FILE,
    VKEY_FILE,
    _form,
    _form_meta,
    evidence_attachments,
    public_url,
)

RECEIPT_FILE = "withdrawal-receipt.json"
PROOF_FILE = "withdrawal-receipt.tlog-proof"


def withdrawal_receipt_job(withdrawal_id: str) -> PdfJob:
    """The withdrawal receipt PDF.

    Raises NotFound, IntegrityFailure (a stored receipt does not verify).
    """
    withdrawal = get_withdrawal(withdrawal_id)
    envelope = receipt_envelope(withdrawal)
    body = envelope["receipt"]
    consent = get_consent(withdrawal.consent_id)
    consent_body = receipt_envelope(consent)["receipt"]
    form, definition = _form(get_request(consent.request_id).form_version_id)
    withdrawn_so_far: set[str] = set()
    for earlier in db.session.scalars(
        select(Withdrawal).where(
            Withdrawal.consent_id == consent.id, Withdrawal.log_index <= withdrawal.log_index
        )
    ):
        withdrawn_so_far.update(receipt_envelope(earlier)["receipt"]["purposes"])

    def described(purpose: str, channels: list[str]) -> dict[str, object]:
        return {
            "purpose": purpose,
            "channels": channels,
            "label": definition["purposes"][purpose]["label"],
        }

    granted = [use for use in consent_body["uses"] if use["granted"]]
    keys = published_keys()
    content = {
        "form": _form_meta(form),
        "title": definition["title"],
        "controller": consent_body["controller"],
        "withdrawal_id": withdrawal.id,
        "consent_id": consent.id,
        "issued_at": body["issued_at"],
        "consent_issued_at": consent_body["issued_at"],
        "expires_at": consent_body["expires_at"],
        "log_index": body["log_index"],
        "key_id": envelope["key_id"],
        "self_service": body.get("method") == "self-service",
        "withdrawn": [
            described(use["purpose"], use["channels"])
            for use in granted
            if use["purpose"] in body["purposes"]
        ],
        "remaining": [
            described(use["purpose"], use["channels"])
            for use in granted
            if use["purpose"] not in withdrawn_so_far
        ],
        "verify_url": public_url(url_for("public.consent_page", consent_id=consent.id)),
        "files": [RECEIPT_FILE, PROOF_FILE, KEYS_FILE, VKEY_FILE],
    }
    attachments = evidence_attachments(
        envelope,
        keys,
        log_index=withdrawal.log_index,
        receipt_file=RECEIPT_FILE,
        proof_file=PROOF_FILE,
        receipt_description="The signed withdrawal receipt",
    )
    return PdfJob(
        template="pdf/withdrawal.html",
        locale=form.language,
        content=content,
        attachments=attachments,
        variant=PDF_A_3B,
        filename=f"withdrawal-receipt-{withdrawal.id}.pdf",
    )
