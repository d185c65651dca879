"""A patient's decision on a request, recorded as a signed, logged consent receipt.

Whatever the path (tablet, paper, an integration), ``record_consent`` is the one place a
consent is written: validated, its receipt built, signed and appended to the log, the signer's
name, drawn signature and withdrawal code sealed with the patient's key, in the caller's
transaction. A request gets one decision: a second one is refused here, and by the database
(consents.request_id is unique) when two workers race.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consent import clock
from consent.accounts.scope import EVERY_TEAM, Scope
from consent.consents.case_texts import text_hashes
from consent.consents.models import Consent, ConsentRequest, ConsentUse
from consent.consents.requests import request_form, request_media, requested_uses
from consent.consents.signature import DrawnSignature
from consent.consents.stage import refresh_stages
from consent.consents.uses import ANSWERS, FACE_HIDDEN, Choice, granted
from consent.consents.withdrawal_codes import code_hash, new_code
from consent.crypto.keyring import Keyring
from consent.crypto.vault import Vault, open_sealed, seal
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import Conflict, InvalidInput, NotFound
from consent.forms.binding import form_binding
from consent.media.models import MediaItem
from consent.patients.service import data_key, get_patient
from consent.records.log import sign_and_log
from consent.records.receipts import Recorder, consent_receipt

ALREADY_DECIDED = "This request already has a decision; a second one cannot be recorded."
EVIDENCE_NEEDED = (
    "A decision is recorded with its evidence: 'tablet' only by the patient signing on the "
    "tablet (signing link), 'paper' with the scan of the signed form (POST "
    "/requests/{id}/paper), 'external' with the document of the system that collected it "
    "(its kind, source and the document itself)."
)


@dataclass(frozen=True)
class Signer:
    role: str
    name: str | None = None
    relationship: str | None = None


@dataclass(frozen=True)
class Controller:
    """Who is responsible for the data, as named in every receipt."""

    name: str
    jurisdiction: str


def decision_errors(
    session: AnySession, request_id: str, signer: Signer, choices: Mapping[str, Choice]
) -> dict[str, Any]:
    """What is wrong with a decision on this request: missing or extra choices, a signer
    without what their role needs. Empty when nothing is."""
    wanted = [use.purpose for use in requested_uses(session, request_id)]
    errors: dict[str, Any] = {}
    missing = [purpose for purpose in wanted if purpose not in choices]
    extra = [purpose for purpose in choices if purpose not in wanted]
    if missing:
        errors["choices"] = [f"Answer yes or no for every use; missing: {', '.join(missing)}."]
    if extra:
        errors.setdefault("choices", []).append(f"Not asked in this request: {', '.join(extra)}.")
    odd = [purpose for purpose, choice in choices.items() if choice not in ANSWERS]
    if odd:
        errors.setdefault("choices", []).append(
            f"Answer yes, no or '{FACE_HIDDEN}' (yes, only with the face hidden): {', '.join(odd)}."
        )
    if signer.role == "legal_representative" and not (
        signer.name and signer.name.strip() and signer.relationship
    ):
        errors["signer"] = ["A legal representative gives their name and relationship."]
    if signer.role == "patient" and (signer.name or signer.relationship):
        errors["signer"] = ["Name and relationship are for a legal representative only."]
    return errors


# The evidence each method rests on (its fields in the receipt); no other method is recorded.
EVIDENCE = {
    "tablet": ("signature", "signing_session"),
    "paper": ("paper_scan",),
    "external": ("external_evidence",),
}


def record_consent(
    session: AnySession,
    keyring: Keyring,
    vault: Vault,
    *,
    request: ConsentRequest,
    controller: Controller,
    signer: Signer,
    choices: Mapping[str, Choice],
    method: str,
    evidence: dict[str, Any],
    recorded_by: Recorder,
    drawn: DrawnSignature | None = None,
    masked: Mapping[str, str] | None = None,
) -> Consent:
    """Sign and log the decision, and add its rows, with a new withdrawal code.

    ``evidence`` holds what the method rests on (EVIDENCE); ``drawn`` is the tablet's signature
    itself, kept sealed. ``masked``: the face-masked copy of each photo (original SHA-256 ->
    copy SHA-256), bound in the receipt when a use is granted only with the face hidden.
    Raises Conflict (already decided), Gone (patient erased) or InvalidInput (a choice
    missing, extra or not an answer, a signer without what their role needs, a method without
    its evidence, a request that names no informing clinician). Nothing is kept when it raises
    (the caller rolls back).
    """
    if request.status != "open":
        raise Conflict(ALREADY_DECIDED)
    patient = get_patient(session, request.patient_id, scope=EVERY_TEAM)
    errors = decision_errors(session, request.id, signer, choices)
    wanted = EVIDENCE.get(method)
    if wanted is None or set(evidence) != set(wanted) or (method == "tablet") != bool(drawn):
        errors["method"] = [EVIDENCE_NEEDED]
    if request.account_id is None:
        errors["clinician"] = ["This request names no clinician's account: open a new request."]
    if errors:
        raise InvalidInput("The decision is not valid; see errors.", errors=errors)

    form, _definition = request_form(session, request)
    media = request_media(session, request.id)
    consent_id = new_id("cs")
    issued_at = clock.now()
    uses: list[dict[str, Any]] = [
        {
            "purpose": use.purpose,
            "channels": json.loads(use.channels),
            "granted": granted(choices[use.purpose]),
        }
        for use in requested_uses(session, request.id)
    ]
    hidden = any(choices[use["purpose"]] == FACE_HIDDEN for use in uses)
    for use in uses:
        if choices[use["purpose"]] == FACE_HIDDEN:
            use["face"] = "hidden"
    masked_by = dict(masked or {}) if hidden else {}
    signer_block = {"role": signer.role}
    if signer.relationship:
        signer_block["relationship"] = signer.relationship
    assert request.account_id is not None
    body = consent_receipt(
        consent_id=consent_id,
        request_id=request.id,
        issued_at=issued_at,
        controller=controller.name,
        jurisdiction=controller.jurisdiction,
        team=request.team_id,
        # The exact text this patient read: only the requested uses, in the request's order.
        form=form_binding(form, [use["purpose"] for use in uses]),
        media=[_media_entry(item, masked_by.get(item.sha256)) for item in media],
        subject=patient.id,
        signer=signer_block,
        method=method,
        evidence=evidence,
        informed_by=request.account_id,
        recorded_by=recorded_by,
        uses=uses,
        expires_at=request.expires_at,
        texts=text_hashes(session, request.id),
    )
    logged = sign_and_log(session, keyring, kind="consent", record_id=consent_id, body=body)
    key = data_key(session, vault, patient.id)
    code = new_code()
    consent = Consent(
        id=consent_id,
        team_id=request.team_id,
        request_id=request.id,
        patient_id=patient.id,
        issued_at=issued_at,
        expires_at=request.expires_at,
        signer_role=signer.role,
        method=method,
        signer_sealed=seal(key, signer.name.strip().encode()) if signer.name else None,
        signature_strokes_sealed=seal(key, drawn.strokes_json) if drawn else None,
        signature_svg_sealed=seal(key, drawn.svg) if drawn else None,
        withdrawal_code_hash=code_hash(code),
        withdrawal_code_sealed=seal(key, code.encode()),
    )
    consent.sealed_by(logged)
    session.add(consent)
    session.add_all(
        ConsentUse(
            consent_id=consent_id,
            purpose=use["purpose"],
            channels=json.dumps(use["channels"]),
            granted=use["granted"],
        )
        for use in uses
    )
    request.status = "decided"
    try:
        session.flush()
    except IntegrityError as exc:
        # Another worker recorded a decision first (consents.request_id is unique). The
        # caller's rollback (the web layer's, a command's) ends the failed transaction.
        raise Conflict(ALREADY_DECIDED) from exc
    refresh_stages(session, [request.id])
    return consent


def _media_entry(item: MediaItem, masked_sha256: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "sha256": item.sha256,
        "phash": item.phash,
        "media_type": item.media_type,
        "size": item.size_bytes,
    }
    if masked_sha256 is not None:
        entry["masked_sha256"] = masked_sha256
    return entry


def get_consent(session: AnySession, consent_id: str, *, scope: Scope) -> Consent:
    """The consent, if of the caller's teams. Raises NotFound."""
    consent = session.get(Consent, consent_id)
    if consent is None or not scope.allows(consent.team_id):
        raise NotFound(f"No consent {consent_id}.")
    return consent


def consent_for_request(session: AnySession, request_id: str) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.request_id == request_id))


def withdrawal_code(session: AnySession, vault: Vault, consent: Consent) -> str:
    """The consent's withdrawal code, unsealed, to show to the patient again.

    Raises NotFound without a code, Gone when the patient was erased.
    """
    if consent.withdrawal_code_sealed is None:
        raise NotFound("This consent has no withdrawal code.")
    key = data_key(session, vault, consent.patient_id)
    return open_sealed(key, consent.withdrawal_code_sealed).decode()
