"""Recording a patient's decision, whichever path it comes by: confirmed on the tablet, signed
on paper, or sent by an integration. One decision per request.

Each path validates what it was given, then ``record_consent`` writes the signed receipt, and
the same things follow in the same transaction: the request's open signing links stop working,
publishers hear of the consent (outbox) and a consent given for a minor is flagged for review.
The caller commits.
"""

from __future__ import annotations

from typing import IO

from consent import clock
from consent.accounts.models import Account
from consent.consents.decisions import Controller, Signer, decision_errors, record_consent
from consent.consents.expiry import flag_if_minor
from consent.consents.models import Consent, PaperScan
from consent.consents.paper import paper_request, representative_only
from consent.consents.requests import get_request
from consent.consents.signature import DrawnSignature
from consent.consents.signing import revoke_open_links, take_submission
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import InvalidInput
from consent.media.scans import fingerprint_scan
from consent.patients.service import data_key
from consent.runtime import Runtime
from consent.webhooks import events


def _controller(rt: Runtime) -> Controller:
    return Controller(rt.settings.controller, rt.settings.jurisdiction)


def _after_decision(session: AnySession, rt: Runtime, consent: Consent) -> None:
    revoke_open_links(session, consent.request_id, clock.now())
    # In this transaction: publishers hear of the consent if and only if it is recorded.
    events.consent_created(
        session,
        consent_id=consent.id,
        log_index=consent.log_index,
        media=events.media_sha256(consent.receipt),
    )
    flag_if_minor(
        session,
        rt.vault,
        consent_id=consent.id,
        patient_id=consent.patient_id,
        issued_at=consent.issued_at,
    )
    session.flush()


def record_decision(
    session: AnySession,
    rt: Runtime,
    *,
    request_id: str,
    signer: Signer,
    choices: dict[str, bool],
    method: str,
    drawn: DrawnSignature | None = None,
    confirmed_by: str | None = None,
) -> Consent:
    """Record a decision as given (through the API, the tablet's signature already taken).

    Raises NotFound, Conflict (already decided), Gone (patient erased) or InvalidInput.
    """
    consent = record_consent(
        session,
        rt.keyring,
        rt.vault,
        request=get_request(session, request_id),
        controller=_controller(rt),
        signer=signer,
        choices=choices,
        method=method,
        drawn=drawn,
        confirmed_by=confirmed_by,
    )
    _after_decision(session, rt, consent)
    return consent


def confirm_on_tablet(
    session: AnySession, rt: Runtime, *, request_id: str, account: Account
) -> Consent:
    """The informing clinician confirms what the patient chose and signed on the tablet.

    Raises NotFound (nothing waiting), Forbidden (another clinician's patient), Conflict, Gone.
    """
    request = get_request(session, request_id)
    submission = take_submission(session, rt.vault, request=request, account_id=account.id)
    consent = record_consent(
        session,
        rt.keyring,
        rt.vault,
        request=request,
        controller=_controller(rt),
        signer=submission.signer,
        choices=submission.choices,
        method="tablet",
        drawn=submission.drawn,
        confirmed_by=account.display_name,
    )
    _after_decision(session, rt, consent)
    return consent


def record_on_paper(
    session: AnySession,
    rt: Runtime,
    *,
    request_id: str,
    signer: Signer,
    choices: dict[str, bool],
    scan: IO[bytes],
    entered_by: str,
    account_id: int | None = None,
) -> Consent:
    """Record the choices ticked on a signed paper form, bound to the scan of that form (kept
    encrypted in the file store, removed again if the transaction is rolled back).

    Raises NotFound, Forbidden, Conflict (as ``paper_request``), Gone (patient erased),
    InvalidInput (a use not answered, a signer without what their role needs, a damaged scan),
    UnsupportedMediaType (a scan that is not PDF, JPEG or PNG) or PayloadTooLarge.
    """
    request = paper_request(session, request_id, account_id=account_id)
    errors = decision_errors(session, request_id, signer, choices)
    if representative_only(session, request) and signer.role != "legal_representative":
        errors["signer"] = ["This form is signed by the patient's legal representative."]
    if not entered_by.strip():
        errors["entered_by"] = ["Name the clinician who enters the paper form."]
    if errors:
        raise InvalidInput("The paper decision is not valid; see errors.", errors=errors)
    settings = rt.settings
    print_ = fingerprint_scan(
        scan, limit=settings.max_scan_bytes, max_pixels=settings.max_image_pixels
    )
    scan_id = new_id("ps")
    consent = record_consent(
        session,
        rt.keyring,
        rt.vault,
        request=request,
        controller=_controller(rt),
        signer=signer,
        choices=choices,
        method="paper",
        confirmed_by=entered_by.strip(),
        paper_scan={"sha256": print_.sha256, "media_type": print_.media_type},
    )
    session.add(
        PaperScan(
            id=scan_id,
            consent_id=consent.id,
            sha256=print_.sha256,
            media_type=print_.media_type,
            size_bytes=print_.size,
        )
    )
    _after_decision(session, rt, consent)
    key = data_key(session, rt.vault, request.patient_id)
    rt.files.put_for(session, media_id=scan_id, data_key=key, source=scan)
    return consent
