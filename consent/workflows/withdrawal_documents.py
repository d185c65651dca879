"""The patient's withdrawal receipt as a PDF: what was withdrawn, when, what remains.

Like the consent receipt it is the record as issued (PDF/A-3b, the signed withdrawal receipt and
its log proof attached): the uses that remain are those left by this withdrawal and the ones
before it in the log, so the document never changes once issued.
"""

from __future__ import annotations

from consent.accounts.scope import Scope
from consent.consents.decisions import get_consent
from consent.consents.requests import get_request, request_form
from consent.consents.withdrawals import get_withdrawal, withdrawals_of
from consent.db import AnySession
from consent.documents.render import PDF_A_3B, PdfJob
from consent.forms.glossary import use_label
from consent.records.envelope import receipt_envelope, verified_receipt
from consent.runtime import Runtime
from consent.workflows.documents import KEYS_FILE, VKEY_FILE, evidence_attachments
from consent.workflows.sealing import seal_words

RECEIPT_FILE = "withdrawal-receipt.json"
PROOF_FILE = "withdrawal-receipt.tlog-proof"


def withdrawal_receipt_job(
    session: AnySession, rt: Runtime, withdrawal_id: str, *, scope: Scope
) -> PdfJob:
    """The withdrawal receipt PDF.

    Raises NotFound, IntegrityFailure (a stored receipt does not verify).
    """
    withdrawal = get_withdrawal(session, withdrawal_id, scope=scope)
    envelope = receipt_envelope(withdrawal, rt.keyring)
    body = envelope["receipt"]
    consent = get_consent(session, withdrawal.consent_id, scope=scope)
    consent_body = verified_receipt(consent, rt.keyring)
    request = get_request(session, consent.request_id, scope=scope)
    form, definition = request_form(session, request)
    withdrawn_so_far: set[str] = set()
    for earlier in withdrawals_of(session, consent.id, up_to_index=withdrawal.log_index):
        withdrawn_so_far.update(verified_receipt(earlier, rt.keyring)["purposes"])

    def described(purpose: str, channels: list[str]) -> dict[str, object]:
        return {
            "purpose": purpose,
            "channels": channels,
            "label": use_label(purpose, form.language),
        }

    granted = [use for use in consent_body["uses"] if use["granted"]]
    content = {
        "form": consent_body["form"],
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
        "verify_url": rt.links.consent_page(consent.id),
        "files": [RECEIPT_FILE, PROOF_FILE, KEYS_FILE, VKEY_FILE],
    }
    attachments = evidence_attachments(
        session,
        rt,
        envelope,
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
        seal=seal_words(
            form.language,
            document="withdrawal",
            controller=consent_body["controller"],
            public_url=rt.settings.public_url,
        ),
    )
