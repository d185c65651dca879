"""Opening consent requests, recording the patient's decision, and withdrawing.

Each function is one transaction: it commits what it records, or raises and records nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consent import clock
from consent.consents.models import (
    Consent,
    ConsentRequest,
    ConsentUse,
    RequestMedia,
    RequestUse,
    Withdrawal,
)
from consent.consents.signature import DrawnSignature
from consent.consents.withdrawal_codes import code_hash, new_code
from consent.crypto.receipts import envelope_from_parts, verify_stored
from consent.crypto.vault import open_sealed, seal
from consent.db import db
from consent.db.types import new_id
from consent.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, VerificationError
from consent.forms.models import FormVersion
from consent.media.models import MediaItem, MediaRendition
from consent.patients.models import PatientErasure
from consent.patients.service import data_key, get_patient
from consent.records.log import sign_and_log
from consent.records.receipts import consent_receipt, withdrawal_receipt
from consent.runtime import runtime
from consent.webhooks import events as webhook_events
from consent.workflows.expire import flag_if_minor

# The longest a consent may run before it must be asked again.
MAX_CONSENT_YEARS = 10


@dataclass(frozen=True)
class UseRequest:
    purpose: str
    channels: list[str]


def open_request(
    *,
    patient_id: str,
    media_ids: list[str],
    form_id: str,
    language: str,
    uses: list[UseRequest],
    expires_at: datetime,
    clinician_name: str,
    account_id: int | None = None,
) -> ConsentRequest:
    """Open a request for these media and uses. Raises NotFound or InvalidInput; commits."""
    get_patient(patient_id)
    errors: dict[str, Any] = {}
    if len(set(media_ids)) != len(media_ids):
        errors["media_ids"] = ["Each media item may be listed once."]
    purposes = [use.purpose for use in uses]
    if len(set(purposes)) != len(purposes):
        errors["uses"] = ["Each purpose may be listed once."]
    now = clock.now()
    if expires_at.tzinfo is None:
        errors["expires_at"] = ["Give a time zone, e.g. 2027-06-30T00:00:00Z."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + timedelta(days=365 * MAX_CONSENT_YEARS + 3):
        errors["expires_at"] = [f"A consent may last at most {MAX_CONSENT_YEARS} years."]
    if not clinician_name.strip():
        errors["clinician"] = ["Name the clinician who gives the information."]
    if errors:
        raise InvalidInput("The request is not valid; see errors.", errors=errors)
    form = db.session.scalar(
        select(FormVersion)
        .where(FormVersion.form_id == form_id, FormVersion.language == language)
        .order_by(FormVersion.version.desc())
        .limit(1)
    )
    if form is None:
        raise InvalidInput(
            f"No form {form_id!r} in language {language!r}.", errors={"form": ["Unknown form."]}
        )
    found = db.session.scalars(select(MediaItem).where(MediaItem.id.in_(media_ids))).all()
    by_id = {item.id: item for item in found}
    missing = [media_id for media_id in media_ids if media_id not in by_id]
    if missing:
        raise NotFound(f"No media item {', '.join(missing)}.")
    foreign = [item.id for item in found if item.patient_id != patient_id]
    if foreign:
        raise InvalidInput(
            "Every media item must be of this patient.", errors={"media_ids": foreign}
        )
    request = ConsentRequest(
        id=new_id("rq"),
        patient_id=patient_id,
        form_version_id=form.id,
        expires_at=expires_at,
        clinician_name=clinician_name.strip(),
        account_id=account_id,
    )
    db.session.add(request)
    db.session.flush()
    db.session.add_all(
        RequestMedia(request_id=request.id, media_id=media_id, position=position)
        for position, media_id in enumerate(media_ids)
    )
    db.session.add_all(
        RequestUse(
            request_id=request.id,
            purpose=use.purpose,
            channels=json.dumps(sorted(set(use.channels))),
            position=position,
        )
        for position, use in enumerate(uses)
    )
    db.session.commit()
    return request


def get_request(request_id: str) -> ConsentRequest:
    request = db.session.get(ConsentRequest, request_id)
    if request is None:
        raise NotFound(f"No consent request {request_id}.")
    return request


def requested_uses(request_id: str) -> list[RequestUse]:
    """The uses a request asks about, in the order the clinician listed them."""
    return list(
        db.session.scalars(
            select(RequestUse)
            .where(RequestUse.request_id == request_id)
            .order_by(RequestUse.position)
        )
    )


def request_media(request_id: str) -> list[MediaItem]:
    """The media items a request is about, in the order the clinician added them."""
    return list(
        db.session.scalars(
            select(MediaItem)
            .join(RequestMedia, RequestMedia.media_id == MediaItem.id)
            .where(RequestMedia.request_id == request_id)
            .order_by(RequestMedia.position)
        )
    )


@dataclass(frozen=True)
class Signer:
    role: str
    name: str | None = None
    relationship: str | None = None


ALREADY_DECIDED = "This request already has a decision; a second one cannot be recorded."


def record_decision(
    *,
    request_id: str,
    signer: Signer,
    choices: dict[str, bool],
    method: str,
    drawn: DrawnSignature | None = None,
    confirmed_by: str | None = None,
) -> Consent:
    """Record the patient's choices as a signed receipt, with a new withdrawal code.

    Raises NotFound, Conflict (already decided), Gone (patient erased) or InvalidInput
    (a choice missing or extra, a representative without name or relationship). Commits.
    """
    consent = stage_decision(
        request_id=request_id,
        signer=signer,
        choices=choices,
        method=method,
        drawn=drawn,
        confirmed_by=confirmed_by,
    )
    commit_decision()
    return consent


def decision_errors(request_id: str, signer: Signer, choices: dict[str, bool]) -> dict[str, Any]:
    """What is wrong with a decision on this request: missing or extra choices, a signer
    without what their role needs. Empty when nothing is."""
    wanted = [use.purpose for use in requested_uses(request_id)]
    errors: dict[str, Any] = {}
    missing = [purpose for purpose in wanted if purpose not in choices]
    extra = [purpose for purpose in choices if purpose not in wanted]
    if missing:
        errors["choices"] = [f"Answer yes or no for every use; missing: {', '.join(missing)}."]
    if extra:
        errors.setdefault("choices", []).append(f"Not asked in this request: {', '.join(extra)}.")
    if signer.role == "legal_representative" and not (
        signer.name and signer.name.strip() and signer.relationship
    ):
        errors["signer"] = ["A legal representative gives their name and relationship."]
    if signer.role == "patient" and (signer.name or signer.relationship):
        errors["signer"] = ["Name and relationship are for a legal representative only."]
    return errors


def stage_decision(
    *,
    request_id: str,
    signer: Signer,
    choices: dict[str, bool],
    method: str,
    drawn: DrawnSignature | None = None,
    confirmed_by: str | None = None,
    paper_scan: dict[str, str] | None = None,
) -> Consent:
    """Sign, log and add a decision's rows in the current transaction, without committing
    (``commit_decision`` does); the caller adds what belongs with it (a paper scan).

    Raises as ``record_decision``.
    """
    request = get_request(request_id)
    if request.status != "open":
        raise Conflict(ALREADY_DECIDED)
    patient = get_patient(request.patient_id)
    requested = requested_uses(request_id)
    errors = decision_errors(request_id, signer, choices)
    if (method == "paper") != (paper_scan is not None):
        # A paper decision is bound to the scan of the signed form, and only a paper one is.
        errors["method"] = ["A decision on paper is recorded with the scan of the signed form."]
    if errors:
        raise InvalidInput("The decision is not valid; see errors.", errors=errors)

    form = db.session.get_one(FormVersion, request.form_version_id)
    media = request_media(request_id)
    consent_id = new_id("cs")
    issued_at = clock.now()
    uses = [
        {
            "purpose": use.purpose,
            "channels": json.loads(use.channels),
            "granted": bool(choices[use.purpose]),
        }
        for use in requested
    ]
    signer_block = {"role": signer.role}
    if signer.relationship:
        signer_block["relationship"] = signer.relationship
    config = current_app.config
    body = consent_receipt(
        consent_id=consent_id,
        request_id=request.id,
        issued_at=issued_at,
        controller=config["CONSENT_CONTROLLER"],
        jurisdiction=config["CONSENT_JURISDICTION"],
        form={
            "id": form.form_id,
            "version": form.version,
            "language": form.language,
            "sha256": form.text_sha256,
        },
        media=[
            {
                "sha256": item.sha256,
                "phash": item.phash,
                "media_type": item.media_type,
                "size": item.size_bytes,
            }
            for item in media
        ],
        subject=patient.id,
        signer=signer_block,
        method=method,
        clinician=request.clinician_name,
        uses=uses,
        expires_at=request.expires_at,
        signature=drawn.receipt_block() if drawn else None,
        confirmed_by=confirmed_by,
        paper_scan=paper_scan,
    )
    logged = sign_and_log(kind="consent", record_id=consent_id, body=body)
    key = data_key(patient.id)
    code = new_code()
    consent = Consent(
        id=consent_id,
        request_id=request.id,
        patient_id=patient.id,
        receipt=logged.body_bytes,
        signature=logged.signature.signature,
        key_id=logged.signature.key_id,
        log_index=logged.log_index,
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
    db.session.add(consent)
    db.session.add_all(
        ConsentUse(
            consent_id=consent_id,
            purpose=use["purpose"],
            channels=json.dumps(use["channels"]),
            granted=use["granted"],
        )
        for use in uses
    )
    request.status = "decided"
    # In this transaction: publishers hear of the consent if and only if it is recorded.
    webhook_events.consent_created(
        consent_id=consent_id,
        log_index=logged.log_index,
        media=[item.sha256 for item in media],
    )
    flag_if_minor(consent_id=consent_id, patient_id=patient.id, issued_at=issued_at)
    _write_or_conflict(db.session.flush)
    return consent


def commit_decision() -> None:
    """Commit a staged decision. Raises Conflict when another worker recorded one first."""
    _write_or_conflict(db.session.commit)


def _write_or_conflict(write: Callable[[], None]) -> None:
    try:
        write()
    except IntegrityError as exc:
        # Another worker recorded a decision first (consents.request_id is unique).
        db.session.rollback()
        raise Conflict(ALREADY_DECIDED) from exc


def get_consent(consent_id: str) -> Consent:
    consent = db.session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(f"No consent {consent_id}.")
    return consent


def receipt_envelope(
    record: Consent | Withdrawal | PatientErasure | MediaRendition,
) -> dict[str, Any]:
    """The stored receipt of a record as an envelope, after checking it byte for byte.

    Raises IntegrityFailure if the stored bytes or signature were altered.
    """
    try:
        verify_stored(
            body_bytes=record.receipt,
            signature=record.signature,
            key_id=record.key_id,
            keys=runtime().keyring,
        )
    except VerificationError as exc:
        raise IntegrityFailure(f"The stored receipt of {record.id} does not verify.") from exc
    return envelope_from_parts(
        body_bytes=record.receipt,
        signature=record.signature,
        key_id=record.key_id,
        body_key="receipt",
    )


def withdraw(
    *,
    consent_id: str,
    purposes: list[str] | None,
    method: str | None = None,
    signer: Signer | None = None,
) -> Withdrawal:
    """Withdraw some granted uses (all of them when ``purposes`` is None). Commits.

    ``method`` and ``signer`` are recorded in the receipt when given (the patient's own
    withdrawal says "self-service" and the patient). Raises NotFound, InvalidInput (a purpose
    not granted in this consent) or Conflict (nothing left to withdraw).
    """
    withdrawal = stage_withdrawal(get_consent(consent_id), purposes, method=method, signer=signer)
    if withdrawal is None:
        raise Conflict("Every use of this consent is already withdrawn or was refused.")
    db.session.commit()
    return withdrawal


def stage_withdrawal(
    consent: Consent,
    purposes: list[str] | None,
    *,
    method: str | None = None,
    signer: Signer | None = None,
) -> Withdrawal | None:
    """The withdrawal of some granted uses (all when ``purposes`` is None), signed and logged
    in the caller's transaction, with its webhook event; None when nothing is left to withdraw.

    Raises InvalidInput for a purpose this consent did not grant.
    """
    # Row locks on PostgreSQL: two withdrawals of the same use cannot both succeed.
    uses = db.session.scalars(
        select(ConsentUse).where(ConsentUse.consent_id == consent.id).with_for_update()
    ).all()
    active = {use.purpose: use for use in uses if use.granted and use.withdrawal_id is None}
    granted = {use.purpose for use in uses if use.granted}
    if purposes is None:
        chosen = list(active)
    else:
        unknown = [purpose for purpose in purposes if purpose not in granted]
        if unknown:
            raise InvalidInput(
                "Only granted uses can be withdrawn.",
                errors={"purposes": [f"Not granted in this consent: {', '.join(unknown)}."]},
            )
        chosen = [purpose for purpose in dict.fromkeys(purposes) if purpose in active]
    if not chosen:
        return None
    withdrawal_id = new_id("wd")
    issued_at = clock.now()
    body = withdrawal_receipt(
        withdrawal_id=withdrawal_id,
        issued_at=issued_at,
        consent_id=consent.id,
        consent_receipt_bytes=consent.receipt,
        subject=consent.patient_id,
        purposes=sorted(chosen),
        method=method,
        # The role only: a name would put an identity into the log.
        signer={"role": signer.role} if signer is not None else None,
    )
    logged = sign_and_log(kind="withdrawal", record_id=withdrawal_id, body=body)
    withdrawal = Withdrawal(
        id=withdrawal_id,
        consent_id=consent.id,
        receipt=logged.body_bytes,
        signature=logged.signature.signature,
        key_id=logged.signature.key_id,
        log_index=logged.log_index,
        issued_at=issued_at,
    )
    db.session.add(withdrawal)
    db.session.flush()
    for purpose in chosen:
        active[purpose].withdrawal_id = withdrawal_id
    webhook_events.consent_withdrawn(
        consent_id=consent.id,
        withdrawal_id=withdrawal_id,
        log_index=logged.log_index,
        purposes=chosen,
        media=webhook_events.media_sha256(consent.receipt),
    )
    return withdrawal


def withdrawal_code(consent: Consent) -> str:
    """The consent's withdrawal code, unsealed, to show to the patient again.

    Raises Gone when the patient was erased.
    """
    if consent.withdrawal_code_sealed is None:
        raise NotFound("This consent has no withdrawal code.")
    return open_sealed(data_key(consent.patient_id), consent.withdrawal_code_sealed).decode()
