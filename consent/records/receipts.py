"""The bodies of consent, withdrawal, erasure and rendition receipts (what gets signed).

Receipts hold no identity: the patient is a pseudonymous id, a representative only a role and a
relationship. Field names follow ISO/IEC TS 27560 where it has one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from consent.db.types import rfc3339

RECEIPT_VERSION = 1


def consent_receipt(
    *,
    consent_id: str,
    request_id: str,
    issued_at: datetime,
    controller: str,
    jurisdiction: str,
    form: dict[str, Any],
    media: list[dict[str, Any]],
    subject: str,
    signer: dict[str, str],
    method: str,
    clinician: str,
    uses: list[dict[str, Any]],
    expires_at: datetime,
    signature: dict[str, str] | None = None,
    confirmed_by: str | None = None,
    paper_scan: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_version": RECEIPT_VERSION,
        "type": "consent",
        "receipt_id": consent_id,
        "request_id": request_id,
        "issued_at": rfc3339(issued_at),
        "controller": controller,
        "jurisdiction": jurisdiction,
        "form": form,
        "media": media,
        "subject": subject,
        "signer": signer,
        "method": method,
        "informed_by": {"clinician": clinician},
        "uses": uses,
        "expires_at": rfc3339(expires_at),
    }
    if signature is not None:
        # The drawn signature is bound by hash; the strokes themselves stay sealed.
        body["signature"] = signature
    if confirmed_by is not None:
        body["informed_by"] = {"clinician": clinician, "confirmed_by": confirmed_by}
    if paper_scan is not None:
        # The scan of the signed paper form is bound by hash; its bytes stay sealed.
        body["paper_scan"] = paper_scan
    return body


def withdrawal_receipt(
    *,
    withdrawal_id: str,
    issued_at: datetime,
    consent_id: str,
    consent_receipt_bytes: bytes,
    subject: str,
    purposes: list[str],
    method: str | None = None,
    signer: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_version": RECEIPT_VERSION,
        "type": "withdrawal",
        "receipt_id": withdrawal_id,
        "issued_at": rfc3339(issued_at),
        "consent_id": consent_id,
        # Binds the withdrawal to the exact consent receipt it ends.
        "consent_receipt_sha256": hashlib.sha256(consent_receipt_bytes).hexdigest(),
        "subject": subject,
        "purposes": purposes,
    }
    # How and by whom, when known (ISO/IEC TS 27560 records the withdrawal method): the patient
    # with their code on the self-service page. Absent for withdrawals through the API.
    if method is not None:
        body["method"] = method
    if signer is not None:
        body["signer"] = signer
    return body


def erasure_receipt(
    *,
    erasure_id: str,
    issued_at: datetime,
    subject: str,
    consents: list[str],
    withdrawals: list[str],
    media_sha256: list[str],
) -> dict[str, Any]:
    """The patient's identity and media bytes were destroyed; their consents ended with it.

    ``withdrawals`` are the withdrawal receipts the erasure issued for uses still granted.
    """
    return {
        "receipt_version": RECEIPT_VERSION,
        "type": "erasure",
        "receipt_id": erasure_id,
        "issued_at": rfc3339(issued_at),
        "subject": subject,
        "consents": sorted(consents),
        "withdrawals": sorted(withdrawals),
        "media_sha256": sorted(media_sha256),
    }


def rendition_receipt(
    *,
    rendition_id: str,
    issued_at: datetime,
    kind: str,
    media_sha256: str,
    sha256: str,
    media_type: str,
    size: int,
    phash: str | None,
    made_by: str,
) -> dict[str, Any]:
    """A copy of a media item, made by the service: the copy answers verify as its original.

    Binds the copy's SHA-256 to the original's, so that a row added in the database cannot make
    an arbitrary file verify (invariant 4). Names no patient.
    """
    return {
        "receipt_version": RECEIPT_VERSION,
        "type": "rendition",
        "receipt_id": rendition_id,
        "issued_at": rfc3339(issued_at),
        "kind": kind,
        "media_sha256": media_sha256,
        "sha256": sha256,
        "media_type": media_type,
        "size": size,
        "phash": phash,
        "made_by": made_by,
    }
