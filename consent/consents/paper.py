"""The paper path's checks and its scans: the patient ticks and signs the printed form; the
clinician uploads its scan and enters the choices as ticked (consent.workflows.decide records
them).

The receipt records method ``paper`` and binds the scan by SHA-256; the scan itself is kept
encrypted under the patient's data key, like the media. A decision signed on the tablet and
waiting for the clinician blocks the paper path: a request never gets two decisions.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from consent.accounts.scope import Scope
from consent.consents.decisions import ALREADY_DECIDED, get_consent
from consent.consents.models import ConsentRequest, PaperScan, PendingDecision
from consent.consents.requests import get_request, request_form
from consent.crypto.keyring import Keyring
from consent.crypto.vault import Vault
from consent.db import AnySession
from consent.db.files import MediaStore
from consent.errors import Conflict, IntegrityFailure, NotFound
from consent.patients.service import data_key
from consent.records.envelope import verified_receipt

SIGNED_ON_TABLET = (
    "The patient has signed this request on the tablet; confirm or leave that decision "
    "instead of recording a paper form."
)


def paper_request(session: AnySession, request_id: str, *, scope: Scope) -> ConsentRequest:
    """A request that can take a decision signed on paper (or collected elsewhere).

    Raises NotFound (no such request in the caller's teams) or Conflict (already decided, or
    signed on the tablet and waiting for the clinician).
    """
    request = get_request(session, request_id, scope=scope)
    if request.status != "open":
        raise Conflict(ALREADY_DECIDED)
    if session.get(PendingDecision, request_id) is not None:
        raise Conflict(SIGNED_ON_TABLET)
    return request


def representative_only(session: AnySession, request: ConsentRequest) -> bool:
    """Whether the request's form is signed by a legal representative only."""
    _form, definition = request_form(session, request)
    return bool(definition.get("audience") == "legal_representative")


def paper_scan(
    session: AnySession,
    keyring: Keyring,
    vault: Vault,
    files: MediaStore,
    consent_id: str,
    *,
    scope: Scope,
) -> tuple[bytes, str]:
    """The scan of a paper consent, decrypted, with its media type.

    Raises NotFound (no such consent, or not recorded on paper), Gone (patient erased) or
    IntegrityFailure (the receipt, the row or the file no longer match; StoredFileMissing when
    the file is absent).
    """
    consent = get_consent(session, consent_id, scope=scope)
    row = session.scalar(select(PaperScan).where(PaperScan.consent_id == consent_id))
    if row is None:
        raise NotFound(f"Consent {consent_id} was not recorded on paper: it has no scan.")
    signed = verified_receipt(consent, keyring).get("paper_scan") or {}
    if signed.get("sha256") != row.sha256 or signed.get("media_type") != row.media_type:
        raise IntegrityFailure(f"The scan of {consent_id} differs from its signed receipt.")
    key = data_key(session, vault, consent.patient_id)
    data = b"".join(files.read(media_id=row.id, data_key=key))  # StoredFileMissing if absent
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise IntegrityFailure(f"The stored scan of {consent_id} is not the one signed for.")
    return data, row.media_type
