"""The patient's own withdrawal: the code from the receipt, no account.

A code that is wrong, unknown, used up (nothing left to withdraw) or whose patient was erased
finds nothing, alike: the caller shows one neutral message for all of them, so the page tells
nobody whether a code ever existed.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from consent.consents.models import Consent, ConsentUse, Withdrawal
from consent.consents.service import (
    Signer,
    get_consent,
    get_request,
    receipt_envelope,
    request_media,
    withdraw,
)
from consent.consents.withdrawal_codes import code_hash
from consent.db import db
from consent.errors import NotFound
from consent.forms.models import FormVersion
from consent.media.models import MediaItem

# The withdrawal method recorded in the receipt (ISO/IEC TS 27560 "withdrawal method").
METHOD = "self-service"
# Longest input looked at: a code is 24 characters with its dashes; spaces and a pasted
# address around it are tolerated, anything longer is not a code.
MAX_CODE_INPUT = 200


def consent_for_code(code: str) -> Consent | None:
    """The consent a withdrawal code opens, or None when it opens nothing (see above)."""
    wanted = code_hash(code[:MAX_CODE_INPUT])
    consent: Consent | None = db.session.scalar(
        select(Consent).where(Consent.withdrawal_code_hash == wanted)
    )
    # The index finds the row; the comparison that decides is made in constant time.
    if consent is None or not hmac.compare_digest(consent.withdrawal_code_hash or "", wanted):
        return None
    if consent.withdrawal_code_sealed is None or not active_purposes(consent.id):
        return None  # the patient was erased, or every granted use is already withdrawn
    return consent


def active_purposes(consent_id: str) -> list[str]:
    """The uses granted and not withdrawn, in the receipt's order."""
    uses = db.session.scalars(
        select(ConsentUse).where(
            ConsentUse.consent_id == consent_id,
            ConsentUse.granted.is_(True),
            ConsentUse.withdrawal_id.is_(None),
        )
    ).all()
    found = {use.purpose for use in uses}
    return [use["purpose"] for use in _receipt(consent_id)["uses"] if use["purpose"] in found]


@dataclass(frozen=True)
class ConsentView:
    """What the patient sees of their consent on the withdrawal pages."""

    consent_id: str
    title: str
    language: str
    issued_at: str
    expires_at: str
    # purpose, label, explanation, channels, state (granted, refused, withdrawn)
    uses: list[dict[str, Any]]
    media: list[MediaItem]

    @property
    def active(self) -> list[dict[str, Any]]:
        return [use for use in self.uses if use["state"] == "granted"]

    def labels(self, purposes: list[str]) -> list[str]:
        return [use["label"] for use in self.uses if use["purpose"] in purposes]


def consent_view(consent_id: str) -> ConsentView:
    """The consent as the patient agreed to it, and what it allows now.

    Raises NotFound, IntegrityFailure (the stored receipt does not verify).
    """
    consent = get_consent(consent_id)
    body = _receipt(consent_id)
    request = get_request(consent.request_id)
    form = db.session.get_one(FormVersion, request.form_version_id)
    definition = json.loads(form.definition)
    active = set(active_purposes(consent_id))
    uses = []
    for use in body["uses"]:
        purpose = use["purpose"]
        state = "refused" if not use["granted"] else "granted" if purpose in active else "withdrawn"
        uses.append(
            {
                "purpose": purpose,
                "label": definition["purposes"][purpose]["label"],
                "explanation": definition["purposes"][purpose]["explanation"],
                "channels": use["channels"],
                "state": state,
            }
        )
    media = request_media(request.id)
    return ConsentView(
        consent_id=consent.id,
        title=definition["title"],
        language=form.language,
        issued_at=body["issued_at"],
        expires_at=body["expires_at"],
        uses=uses,
        media=media,
    )


def withdraw_with_code(*, consent_id: str, purposes: list[str] | None) -> Withdrawal:
    """Record the patient's own withdrawal (all active uses when ``purposes`` is None).

    Raises as ``consents.service.withdraw``.
    """
    return withdraw(
        consent_id=consent_id, purposes=purposes, method=METHOD, signer=Signer("patient")
    )


def get_withdrawal(withdrawal_id: str) -> Withdrawal:
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None:
        raise NotFound(f"No withdrawal {withdrawal_id}.")
    return withdrawal


def _receipt(consent_id: str) -> dict[str, Any]:
    body: dict[str, Any] = receipt_envelope(get_consent(consent_id))["receipt"]
    return body
