"""Recording a patient's decision, whichever path it comes by, each with its own evidence:
confirmed on the tablet (the drawn signature and the signing session), signed on paper (the
scan), collected by another system (its document). One decision per request.

Each path checks what it was given, then ``record_consent`` writes the signed receipt, and the
same things follow in the same transaction: the request's open signing links stop working,
publishers hear of the consent (outbox) and a consent given for a minor is flagged for review.
The receipt names who recorded it as the service knows them (an account or an integration, the
team, the API key); nothing a caller merely claims. The caller commits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from consent import clock
from consent.accounts.models import Account
from consent.accounts.scope import Scope
from consent.accounts.teams import is_member
from consent.consents.decisions import Controller, Signer, decision_errors, record_consent
from consent.consents.expiry import flag_if_minor
from consent.consents.models import Consent, ConsentRequest, ExternalEvidence, PaperScan
from consent.consents.paper import paper_request, representative_only
from consent.consents.requests import get_request
from consent.consents.signing import revoke_open_links, take_submission
from consent.consents.uses import Choice
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import InvalidInput
from consent.media.scans import fingerprint_evidence, fingerprint_scan
from consent.patients.service import data_key
from consent.records.receipts import Recorder
from consent.runtime import Runtime
from consent.webhooks import events
from consent.workflows.face_mask import masked_for_decision


def _controller(rt: Runtime) -> Controller:
    return Controller(rt.settings.controller, rt.settings.jurisdiction)


def _after_decision(session: AnySession, rt: Runtime, consent: Consent) -> None:
    revoke_open_links(session, consent.request_id, clock.now())
    # In this transaction: publishers hear of the consent if and only if it is recorded.
    events.consent_created(
        session,
        team_id=consent.team_id,
        consent_id=consent.id,
        log_index=consent.log_index,
        method=consent.method,
        media=events.media_sha256(consent.receipt),
        texts=events.text_sha256(consent.receipt),
    )
    flag_if_minor(
        session,
        rt.vault,
        consent_id=consent.id,
        patient_id=consent.patient_id,
        issued_at=consent.issued_at,
    )
    session.flush()


def confirm_on_tablet(
    session: AnySession, rt: Runtime, *, request_id: str, account: Account, scope: Scope
) -> Consent:
    """The informing clinician confirms what the patient chose and signed on the tablet.

    Raises NotFound (nothing waiting, or a request of another team), Forbidden (not the
    clinician who informed the patient), Conflict, Gone.
    """
    request = get_request(session, request_id, scope=scope)
    submission = take_submission(session, rt.vault, request=request, account_id=account.id)
    recorded_by: Recorder = {"team": request.team_id, "account": account.id}
    consent = record_consent(
        session,
        rt.keyring,
        rt.vault,
        request=request,
        controller=_controller(rt),
        signer=submission.signer,
        choices=submission.choices,
        method="tablet",
        evidence={
            "signature": submission.drawn.receipt_block(),
            "signing_session": submission.session_evidence,
        },
        recorded_by=recorded_by,
        drawn=submission.drawn,
        masked=masked_for_decision(
            session, rt, request=request, choices=submission.choices, recorded_by=recorded_by
        ),
    )
    _after_decision(session, rt, consent)
    return consent


def _entered_by(session: AnySession, request: ConsentRequest, account: Account | None) -> int:
    """The account that enters a paper or external decision: a member of the request's team.

    Raises InvalidInput naming the field when there is none, or it is not a member.
    """
    if account is None:
        raise InvalidInput(
            "Name the clinician who enters the decision: a member of the patient's team.",
            errors={"entered_by": ["The e-mail of a clinician of the patient's team."]},
        )
    if not is_member(session, account_id=account.id, team_id=request.team_id):
        raise InvalidInput(
            "The clinician who enters the decision must be a member of the patient's team.",
            errors={"entered_by": ["Not a member of the patient's team."]},
        )
    return account.id


def record_on_paper(
    session: AnySession,
    rt: Runtime,
    *,
    request_id: str,
    scope: Scope,
    signer: Signer,
    choices: dict[str, Choice],
    scan: IO[bytes],
    entered_by: Account | None,
    recorded_by: Recorder,
) -> Consent:
    """Record the choices ticked on a signed paper form, bound to the scan of that form (kept
    encrypted in the file store, removed again if the transaction is rolled back).

    Raises NotFound, Forbidden, Conflict (as ``paper_request``), Gone (patient erased),
    InvalidInput (a use not answered, a signer without what their role needs, no entering
    clinician of the team, a damaged scan), UnsupportedMediaType or PayloadTooLarge.
    """
    request = paper_request(session, request_id, scope=scope)
    errors = decision_errors(session, request_id, signer, choices)
    if representative_only(session, request) and signer.role != "legal_representative":
        errors["signer"] = ["This form is signed by the patient's legal representative."]
    if errors:
        raise InvalidInput("The paper decision is not valid; see errors.", errors=errors)
    entering = _entered_by(session, request, entered_by)
    settings = rt.settings
    print_ = fingerprint_scan(
        scan, limit=settings.max_scan_bytes, max_pixels=settings.max_image_pixels
    )
    row = PaperScan(
        id=new_id("ps"),
        sha256=print_.sha256,
        media_type=print_.media_type,
        size_bytes=print_.size,
    )
    block = {"sha256": print_.sha256, "media_type": print_.media_type}
    return _record_with_document(
        session,
        rt,
        request=request,
        signer=signer,
        choices=choices,
        method="paper",
        evidence={"paper_scan": block},
        recorded_by={**recorded_by, "entered_by": entering},
        document=row,
        source=scan,
    )


def _record_with_document(
    session: AnySession,
    rt: Runtime,
    *,
    request: ConsentRequest,
    signer: Signer,
    choices: dict[str, Choice],
    method: str,
    evidence: dict[str, Any],
    recorded_by: Recorder,
    document: PaperScan | ExternalEvidence,
    source: IO[bytes],
) -> Consent:
    """The receipt, then the document's row and its bytes (encrypted under the patient's key,
    removed again if the transaction is rolled back)."""
    consent = record_consent(
        session,
        rt.keyring,
        rt.vault,
        request=request,
        controller=_controller(rt),
        signer=signer,
        choices=choices,
        method=method,
        evidence=evidence,
        recorded_by=recorded_by,
        masked=masked_for_decision(
            session, rt, request=request, choices=choices, recorded_by=recorded_by
        ),
    )
    document.consent_id = consent.id
    session.add(document)
    _after_decision(session, rt, consent)
    key = data_key(session, rt.vault, request.patient_id)
    rt.files.put_for(session, media_id=document.id, data_key=key, source=source)
    return consent


@dataclass(frozen=True)
class Evidence:
    """What a system that collected consent elsewhere sends with the decision."""

    kind: str
    source: str
    document: bytes


def record_external(
    session: AnySession,
    rt: Runtime,
    *,
    request_id: str,
    scope: Scope,
    signer: Signer,
    choices: dict[str, Choice],
    evidence: Evidence,
    entered_by: Account | None,
    recorded_by: Recorder,
) -> Consent:
    """Record a decision another system collected (another e-signature tool, a patient
    portal), bound to its evidence document (kept encrypted like a paper scan).

    Raises as ``record_on_paper``.
    """
    request = paper_request(session, request_id, scope=scope)
    errors = decision_errors(session, request_id, signer, choices)
    if errors:
        raise InvalidInput("The decision is not valid; see errors.", errors=errors)
    entering = _entered_by(session, request, entered_by)
    settings = rt.settings
    stream = io.BytesIO(evidence.document)
    print_ = fingerprint_evidence(
        stream, limit=settings.max_scan_bytes, max_pixels=settings.max_image_pixels
    )
    block = {
        "kind": evidence.kind,
        "source": evidence.source,
        "sha256": print_.sha256,
        "media_type": print_.media_type,
    }
    row = ExternalEvidence(
        id=new_id("ev"),
        kind=evidence.kind,
        source=evidence.source,
        sha256=print_.sha256,
        media_type=print_.media_type,
        size_bytes=print_.size,
    )
    return _record_with_document(
        session,
        rt,
        request=request,
        signer=signer,
        choices=choices,
        method="external",
        evidence={"external_evidence": block},
        recorded_by={**recorded_by, "entered_by": entering},
        document=row,
        source=stream,
    )
