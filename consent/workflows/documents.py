"""The documents, assembled from the records: the blank form of an open request, the receipt
of a consent, the receipt of a withdrawal (consent.workflows.withdrawal_documents).

Each function checks what the caller may have (the request is open, the consent exists and its
receipt verifies, the patient is not erased), gathers the data, and describes the document as a
``PdfJob``; consent.documents.render turns it into PDF bytes (or takes them from the cache) and
never queries anything itself.
"""

from __future__ import annotations

import json
from typing import Any

from consent.accounts.names import account_name, informing_clinician
from consent.accounts.scope import Scope
from consent.consents.case_texts import request_texts
from consent.consents.decisions import get_consent, withdrawal_code
from consent.consents.models import ConsentRequest
from consent.consents.requests import get_request, request_form, request_media, requested_uses
from consent.db import AnySession
from consent.documents.render import PDF_A_3B, PdfAttachment, PdfJob
from consent.documents.thumbnails import MediaRef
from consent.errors import Conflict
from consent.forms.binding import form_binding
from consent.forms.glossary import use_label
from consent.forms.shown import shown_sections
from consent.media.faces import parse_faces
from consent.media.models import MediaItem
from consent.media.subjects import media_key, shared_items
from consent.patients.service import data_key, get_patient
from consent.records.envelope import receipt_envelope
from consent.records.proofs import bundle_as_appended
from consent.runtime import Runtime
from consent.verify.public import published_keys
from consent.workflows.face_mask import faces_to_hide, recorded_masked_copy
from consent.workflows.sealing import seal_words

RECEIPT_FILE = "receipt.json"
PROOF_FILE = "receipt.tlog-proof"
KEYS_FILE = "consent-keys.json"
VKEY_FILE = "consent-keys.vkey"


def evidence_attachments(
    session: AnySession,
    rt: Runtime,
    envelope: dict[str, Any],
    *,
    log_index: int,
    receipt_file: str,
    proof_file: str,
    receipt_description: str,
) -> tuple[PdfAttachment, ...]:
    """What a receipt PDF carries so that anyone can check it without the hospital: the signed
    envelope, its inclusion proof with a checkpoint, and the public keys in both forms."""
    keys = published_keys(rt.keyring)
    proof = bundle_as_appended(session, rt.keyring, origin=rt.log_origin, index=log_index)
    return (
        PdfAttachment(
            receipt_file,
            (json.dumps(envelope, indent=2, ensure_ascii=False) + "\n").encode(),
            f"{receipt_description} (JSON envelope, Ed25519 over RFC 8785 JSON)",
            relationship="Source",
        ),
        PdfAttachment(
            proof_file,
            proof.encode(),
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


def media_refs(session: AnySession, rt: Runtime, request_id: str) -> tuple[MediaRef, ...]:
    """The request's media as a document shows them, each with the reader of its bytes."""
    media = request_media(session, request_id)
    shared = shared_items(session, [item.id for item in media])
    return tuple(_ref(session, rt, item, item.id in shared) for item in media)


def _ref(session: AnySession, rt: Runtime, item: MediaItem, shared: bool) -> MediaRef:
    erased = item.bytes_erased_at is not None

    def load() -> bytes:
        key = media_key(session, rt.vault, item)
        return b"".join(rt.files.read(media_id=item.id, data_key=key))

    return MediaRef(
        media_id=item.id,
        sha256=item.sha256,
        media_type=item.media_type,
        erased=erased,
        face=bool(parse_faces(item.faces)),
        shared=shared,
        load=None if erased else load,
    )


def _masked_refs(
    session: AnySession, rt: Runtime, body: dict[str, Any], request: ConsentRequest, scope: Scope
) -> tuple[MediaRef, ...]:
    """The face-hidden copies a consent receipt binds (``masked_sha256`` on its media), each
    read back as recorded: the patient's receipt shows what may be published in their name."""
    refs = []
    items = {item.sha256: item for item in request_media(session, request.id)}
    for bound in body.get("media", []):
        copy_sha256 = bound.get("masked_sha256")
        item = items.get(bound["sha256"])
        if not copy_sha256 or item is None:
            continue
        media_id = item.id

        def load(media_id: str = media_id) -> bytes:
            return recorded_masked_copy(session, rt, media_id=media_id, scope=scope)[0]

        erased = item.bytes_erased_at is not None
        refs.append(
            MediaRef(
                media_id=media_id,
                sha256=copy_sha256,
                media_type=item.media_type,
                erased=erased,
                load=None if erased else load,
            )
        )
    return tuple(refs)


def _texts(session: AnySession, rt: Runtime, request: ConsentRequest) -> list[dict[str, str]]:
    """The request's case texts as a document shows them: in full, with their SHA-256."""
    return [
        {"text": shown.text, "sha256": shown.sha256}
        for shown in request_texts(session, rt.vault, request)
    ]


def form_job(session: AnySession, rt: Runtime, request_id: str, *, scope: Scope) -> PdfJob:
    """The blank paper form of an open request.

    Raises NotFound (no such request), Conflict (already decided: a blank form would invite a
    second decision), Gone (the patient was erased).
    """
    request = get_request(session, request_id, scope=scope)
    if request.status != "open":
        raise Conflict("This request already has a decision; its blank form cannot be printed.")
    get_patient(session, request.patient_id, scope=scope)
    form, definition = request_form(session, request)
    uses = [
        {
            "purpose": use.purpose,
            "channels": json.loads(use.channels),
            "label": use_label(use.purpose, form.language),
            "explanation": definition["purposes"][use.purpose]["explanation"],
        }
        for use in requested_uses(session, request_id)
    ]
    purposes = [use["purpose"] for use in uses]
    content = {
        # The block a receipt will bind: the hash of the text as shown (consent.forms.binding).
        "form": form_binding(form, purposes),
        "title": definition["title"],
        # Only the requested uses' paragraphs, in the request's order (issue 21).
        "sections": shown_sections(definition, purposes),
        "audience": definition.get("audience", "patient"),
        "uses": uses,
        "expires_at": request.expires_at.isoformat(),
        "clinician": (
            account_name(session, request.account_id)
            if request.account_id is not None
            else request.clinician_name
        ),
        "controller": rt.settings.controller,
        "request_id": request.id,
        # Stable, and no secret on paper: the request's paper-upload page (clinician log-in),
        # where the signed sheet's scan and its ticks are entered. Not a tablet link: a link is
        # single-use and lives minutes, a sheet lives days.
        "qr_url": rt.links.paper_upload(request.id),
        "texts": _texts(session, rt, request),
        # The third box, "yes, only with my face hidden", only when a face is boxed.
        "face_hidden": faces_to_hide(request_media(session, request_id)),
    }
    return PdfJob(
        template="pdf/form.html",
        locale=form.language,
        content=content,
        media=media_refs(session, rt, request_id),
        filename=f"consent-form-{request.id}.pdf",
    )


def receipt_job(session: AnySession, rt: Runtime, consent_id: str, *, scope: Scope) -> PdfJob:
    """The patient's receipt of a consent, as issued, PDF/A-3b with its proof files attached.

    A receipt is immutable, so is this document: what the consent allows today (after a
    withdrawal, or past the expiry) is on the public page its QR code opens.
    Raises NotFound, Gone (the patient was erased: no thumbnails, no code), IntegrityFailure
    (the stored receipt does not verify).
    """
    consent = get_consent(session, consent_id, scope=scope)
    envelope = receipt_envelope(consent, rt.keyring)
    body = envelope["receipt"]
    request = get_request(session, consent.request_id, scope=scope)
    form, definition = request_form(session, request)
    data_key(session, rt.vault, consent.patient_id)  # Gone once erased, before anything is shown
    code = withdrawal_code(session, rt.vault, consent)
    uses = [
        {
            "purpose": use["purpose"],
            "channels": use["channels"],
            "granted": use["granted"],
            "face_hidden": use.get("face") == "hidden",
            "label": use_label(use["purpose"], form.language),
            "explanation": definition["purposes"][use["purpose"]]["explanation"],
        }
        for use in body["uses"]
    ]
    content = {
        # What the receipt signed, not a form block computed again.
        "form": body["form"],
        "title": definition["title"],
        "consent_id": consent.id,
        "issued_at": body["issued_at"],
        "expires_at": body["expires_at"],
        "log_index": body["log_index"],
        "key_id": envelope["key_id"],
        "signer": body["signer"],
        "clinician": informing_clinician(session, body),
        "method": body["method"],
        "external": body.get("external_evidence"),
        "controller": body["controller"],
        "uses": uses,
        "code": code,
        "verify_url": rt.links.consent_page(consent.id),
        "withdraw_url": rt.links.withdrawal(code),
        "withdraw_page": rt.links.withdraw_page(),
        "files": [RECEIPT_FILE, PROOF_FILE, KEYS_FILE, VKEY_FILE],
        # What the receipt binds, in full: only texts whose hash the receipt names.
        "texts": [
            text
            for text in _texts(session, rt, request)
            if text["sha256"] in {item["sha256"] for item in body.get("texts", [])}
        ],
    }
    attachments = evidence_attachments(
        session,
        rt,
        envelope,
        log_index=consent.log_index,
        receipt_file=RECEIPT_FILE,
        proof_file=PROOF_FILE,
        receipt_description="The signed consent receipt",
    )
    return PdfJob(
        template="pdf/receipt.html",
        locale=form.language,
        content=content,
        media=media_refs(session, rt, request.id),
        masked=_masked_refs(session, rt, body, request, scope),
        attachments=attachments,
        variant=PDF_A_3B,
        filename=f"consent-receipt-{consent.id}.pdf",
        seal=seal_words(
            form.language,
            document="consent",
            controller=body["controller"],
            public_url=rt.settings.public_url,
        ),
    )
