"""The bodies of consent, withdrawal, erasure and rendition receipts (what gets signed).

Receipts hold no identity: the patient is a pseudonymous id, a representative only a role and a
relationship, staff and systems by the identifiers the service controls (an account number, an
integration id, a team id, an API key number; names are resolved when shown). Field names
follow ISO/IEC TS 27560 where it has one.

Version 2 (care teams) names the team, who recorded the receipt (``recorded_by``) and, for a
consent, the account that informed the patient and the evidence its method rests on: the
drawn signature and the signing session (tablet), the scan of the signed form (paper), the
document of the system that collected it (external). Receipts of version 1 keep their bytes
and verify as before.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from consent.db.types import rfc3339

RECEIPT_VERSION = 2
# Version 3 (issue 19, faces): a consent receipt with a use granted only with the face hidden
# (``"face": "hidden"`` on the use, ``masked_sha256`` on each photo: the masked copy the patient
# saw), and the rendition receipt of a face-masked copy (its ``faces``). Receipts without them
# keep version 2 and their exact bytes; a verifier that knows only version 2 must not read a
# version 3 grant as a plain grant.
RECEIPT_VERSION_FACES = 3

# Who recorded a receipt: {"team": "tm_...", "account": 12 | "integration": "in_...",
# "api_key": 34 (when through the API)}; {"team": ..., "system": "expiry"} for the service's
# own runs.
Recorder = dict[str, str | int]


def consent_receipt(
    *,
    consent_id: str,
    request_id: str,
    issued_at: datetime,
    controller: str,
    jurisdiction: str,
    team: str,
    form: dict[str, Any],
    media: list[dict[str, Any]],
    subject: str,
    signer: dict[str, str],
    method: str,
    evidence: dict[str, Any],
    informed_by: int,
    recorded_by: Recorder,
    uses: list[dict[str, Any]],
    expires_at: datetime,
    texts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``evidence`` holds the method's own fields: ``signature`` and ``signing_session``
    (tablet), ``paper_scan`` (paper), ``external_evidence`` (external); each binds its
    document by hash, never by content.

    ``texts`` binds the case texts the patient read, each by the SHA-256 of its normalised
    form (consent.consents.text_norm) and its length; the field is present only when the
    request has texts, so that receipts without texts keep the exact bytes they always had.
    """
    faces = any("face" in use for use in uses) or any("masked_sha256" in m for m in media)
    body = {
        "receipt_version": RECEIPT_VERSION_FACES if faces else RECEIPT_VERSION,
        "type": "consent",
        "receipt_id": consent_id,
        "request_id": request_id,
        "issued_at": rfc3339(issued_at),
        "controller": controller,
        "jurisdiction": jurisdiction,
        "team": team,
        "form": form,
        "media": media,
        "subject": subject,
        "signer": signer,
        "method": method,
        **evidence,
        "informed_by": {"clinician": {"account": informed_by}},
        "recorded_by": recorded_by,
        "uses": uses,
        "expires_at": rfc3339(expires_at),
    }
    if texts:
        body["texts"] = texts
    return body


def withdrawal_receipt(
    *,
    withdrawal_id: str,
    issued_at: datetime,
    team: str,
    consent_id: str,
    consent_receipt_bytes: bytes,
    subject: str,
    purposes: list[str],
    recorded_by: Recorder | None,
    method: str | None = None,
    signer: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_version": RECEIPT_VERSION,
        "type": "withdrawal",
        "receipt_id": withdrawal_id,
        "issued_at": rfc3339(issued_at),
        "team": team,
        "consent_id": consent_id,
        # Binds the withdrawal to the exact consent receipt it ends.
        "consent_receipt_sha256": hashlib.sha256(consent_receipt_bytes).hexdigest(),
        "subject": subject,
        "purposes": purposes,
    }
    # How and by whom, when known (ISO/IEC TS 27560 records the withdrawal method): the patient
    # with their code on the self-service page (no recorder: the code is their credential), or
    # the staff or system that recorded it.
    if method is not None:
        body["method"] = method
    if signer is not None:
        body["signer"] = signer
    if recorded_by is not None:
        body["recorded_by"] = recorded_by
    return body


def erasure_receipt(
    *,
    erasure_id: str,
    issued_at: datetime,
    team: str,
    subject: str,
    consents: list[str],
    withdrawals: list[str],
    media_sha256: list[str],
    recorded_by: Recorder,
) -> dict[str, Any]:
    """The patient's identity and media bytes were destroyed; their consents ended with it.

    ``withdrawals`` are the withdrawal receipts the erasure issued for uses still granted.
    """
    return {
        "receipt_version": RECEIPT_VERSION,
        "type": "erasure",
        "receipt_id": erasure_id,
        "issued_at": rfc3339(issued_at),
        "team": team,
        "subject": subject,
        "consents": sorted(consents),
        "withdrawals": sorted(withdrawals),
        "media_sha256": sorted(media_sha256),
        "recorded_by": recorded_by,
    }


def rendition_receipt(
    *,
    rendition_id: str,
    issued_at: datetime,
    team: str,
    kind: str,
    media_sha256: str,
    sha256: str,
    media_type: str,
    size: int,
    phash: str | None,
    recorded_by: Recorder,
    faces: list[list[int]] | None = None,
) -> dict[str, Any]:
    """A copy of a media item, made by the service: the copy answers verify as its original.

    Binds the copy's SHA-256 to the original's, so that a row added in the database cannot make
    an arbitrary file verify (invariant 4). Names no patient. ``faces``: for a face-masked copy,
    the boxes hidden ([x, y, w, h] in the upright photo's pixels).
    """
    body: dict[str, Any] = {
        "receipt_version": RECEIPT_VERSION if faces is None else RECEIPT_VERSION_FACES,
        "type": "rendition",
        "receipt_id": rendition_id,
        "issued_at": rfc3339(issued_at),
        "team": team,
        "kind": kind,
        "media_sha256": media_sha256,
        "sha256": sha256,
        "media_type": media_type,
        "size": size,
        "phash": phash,
        "recorded_by": recorded_by,
    }
    if faces is not None:
        body["faces"] = faces
    return body


def made_by(recorded_by: Recorder) -> str:
    """Who recorded something, in a short form for listings and columns: "api-key:12",
    "account:3", "integration:in_...", else "service"."""
    for holder in ("api_key", "account", "integration"):
        if holder in recorded_by:
            return f"{holder.replace('_', '-')}:{recorded_by[holder]}"
    return "service"


def rendition_made_by(body: dict[str, Any]) -> str | None:
    """A rendition receipt's author in the short form: signed as such in version 1, derived
    from ``recorded_by`` since version 2."""
    if body.get("receipt_version", 1) >= 2:
        return made_by(body.get("recorded_by") or {})
    made: str | None = body.get("made_by")
    return made
