"""The paper path: the patient ticks and signs the printed form; the clinician uploads its scan
and enters the choices as ticked. Each function is one transaction.

The receipt records method ``paper`` and binds the scan by SHA-256; the scan itself is kept
encrypted under the patient's data key, like the media. A paper decision spends every open
tablet link of the request, and a decision signed on the tablet and waiting for the
clinician blocks the paper path: a request never gets two decisions (consents.request_id is
unique as well).
"""

from __future__ import annotations

import hashlib
import json
from typing import IO

from flask import current_app
from sqlalchemy import select, update

from consent import clock
from consent.consents.models import (
    Consent,
    ConsentRequest,
    PaperScan,
    PendingDecision,
    SigningLink,
)
from consent.consents.service import (
    ALREADY_DECIDED,
    Signer,
    commit_decision,
    decision_errors,
    get_consent,
    get_request,
    receipt_envelope,
    stage_decision,
)
from consent.db import db
from consent.db.types import new_id
from consent.errors import Conflict, Forbidden, IntegrityFailure, InvalidInput, NotFound
from consent.forms.models import FormVersion
from consent.media.scans import fingerprint_scan
from consent.patients.service import data_key
from consent.runtime import runtime

SIGNED_ON_TABLET = (
    "The patient has signed this request on the tablet; confirm or leave that decision "
    "instead of recording a paper form."
)


def paper_request(request_id: str, *, account_id: int | None) -> ConsentRequest:
    """A request that can take a paper decision from this account.

    Raises NotFound, Forbidden (another clinician's request) or Conflict (already decided,
    or signed on the tablet and waiting for the clinician).
    """
    request = get_request(request_id)
    if (
        request.account_id is not None
        and account_id is not None
        and request.account_id != account_id
    ):
        raise Forbidden("Only the clinician who informed the patient can record their decision.")
    if request.status != "open":
        raise Conflict(ALREADY_DECIDED)
    if db.session.get(PendingDecision, request_id) is not None:
        raise Conflict(SIGNED_ON_TABLET)
    return request


def representative_only(request: ConsentRequest) -> bool:
    """Whether the request's form is signed by a legal representative only."""
    form = db.session.get_one(FormVersion, request.form_version_id)
    return bool(json.loads(form.definition).get("audience") == "legal_representative")


def record_paper_decision(
    *,
    request_id: str,
    signer: Signer,
    choices: dict[str, bool],
    scan: IO[bytes],
    entered_by: str,
    account_id: int | None = None,
) -> Consent:
    """Record the choices ticked on a signed paper form, bound to the scan of that form.

    Raises NotFound, Forbidden, Conflict (as ``paper_request``), Gone (patient erased),
    InvalidInput (a use not answered, a signer without what their role needs, a damaged scan),
    UnsupportedMediaType (a scan that is not PDF, JPEG or PNG) or PayloadTooLarge. Commits;
    nothing is stored when it raises.
    """
    request = paper_request(request_id, account_id=account_id)
    errors = decision_errors(request_id, signer, choices)
    if representative_only(request) and signer.role != "legal_representative":
        errors["signer"] = ["This form is signed by the patient's legal representative."]
    if not entered_by.strip():
        errors["entered_by"] = ["Name the clinician who enters the paper form."]
    if errors:
        raise InvalidInput("The paper decision is not valid; see errors.", errors=errors)
    config = current_app.config
    print_ = fingerprint_scan(
        scan,
        limit=config["CONSENT_MAX_SCAN_BYTES"],
        max_pixels=config["CONSENT_MAX_IMAGE_PIXELS"],
    )
    key = data_key(request.patient_id)
    store = runtime().media_store
    scan_id = new_id("ps")
    try:
        consent = stage_decision(
            request_id=request_id,
            signer=signer,
            choices=choices,
            method="paper",
            confirmed_by=entered_by.strip(),
            paper_scan={"sha256": print_.sha256, "media_type": print_.media_type},
        )
        # The tablet can no longer carry a decision for this request.
        db.session.execute(
            update(SigningLink)
            .where(
                SigningLink.request_id == request_id,
                SigningLink.used_at.is_(None),
                SigningLink.revoked_at.is_(None),
            )
            .values(revoked_at=clock.now())
        )
        db.session.add(
            PaperScan(
                id=scan_id,
                consent_id=consent.id,
                sha256=print_.sha256,
                media_type=print_.media_type,
                size_bytes=print_.size,
            )
        )
        db.session.flush()
        store.put(media_id=scan_id, data_key=key, source=scan)
        commit_decision()
    except BaseException:
        # Receipt, rows and file together or none: a failure leaves no orphan file behind.
        db.session.rollback()
        store.delete(scan_id)
        raise
    return consent


def paper_scan(consent_id: str) -> tuple[bytes, str]:
    """The scan of a paper consent, decrypted, with its media type.

    Raises NotFound (no such consent, or not recorded on paper), Gone (patient erased) or
    IntegrityFailure (the receipt, the row or the file no longer match).
    """
    consent = get_consent(consent_id)
    row = db.session.scalar(select(PaperScan).where(PaperScan.consent_id == consent_id))
    if row is None:
        raise NotFound(f"Consent {consent_id} was not recorded on paper: it has no scan.")
    signed = receipt_envelope(consent)["receipt"].get("paper_scan") or {}
    if signed.get("sha256") != row.sha256 or signed.get("media_type") != row.media_type:
        raise IntegrityFailure(f"The scan of {consent_id} differs from its signed receipt.")
    key = data_key(consent.patient_id)
    try:
        data = b"".join(runtime().media_store.read(media_id=row.id, data_key=key))
    except FileNotFoundError as exc:
        raise IntegrityFailure(f"The stored scan of {consent_id} is missing.") from exc
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise IntegrityFailure(f"The stored scan of {consent_id} is not the one signed for.")
    return data, row.media_type
