"""The patient's own withdrawal: the code from the receipt, no account.

A code that is wrong, unknown, used up (nothing left to withdraw) or whose patient was erased
finds nothing, alike: the caller shows one neutral message for all of them, so the page tells
nobody whether a code ever existed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from consent.accounts.scope import EVERY_TEAM
from consent.consents.decisions import get_consent
from consent.consents.models import Consent, ConsentUse
from consent.consents.requests import get_request, request_form, request_media
from consent.consents.withdrawal_codes import code_hash
from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.forms.glossary import use_label
from consent.media.models import MediaItem
from consent.records.envelope import verified_receipt

# The withdrawal method recorded in the receipt (ISO/IEC TS 27560 "withdrawal method").
METHOD = "self-service"
# Longest input looked at: a code is 24 characters with its dashes; spaces and a pasted
# address around it are tolerated, anything longer is not a code.
MAX_CODE_INPUT = 200


def consent_for_code(session: AnySession, keyring: Keyring, code: str) -> Consent | None:
    """The consent a withdrawal code opens, or None when it opens nothing (see above)."""
    wanted = code_hash(code[:MAX_CODE_INPUT])
    consent: Consent | None = session.scalar(
        select(Consent).where(Consent.withdrawal_code_hash == wanted)
    )
    # The index finds the row; the comparison that decides is made in constant time.
    if consent is None or not hmac.compare_digest(consent.withdrawal_code_hash or "", wanted):
        return None
    if consent.withdrawal_code_sealed is None or not active_purposes(session, keyring, consent):
        return None  # the patient was erased, or every granted use is already withdrawn
    return consent


def active_purposes(session: AnySession, keyring: Keyring, consent: Consent) -> list[str]:
    """The uses granted and not withdrawn, in the receipt's order."""
    uses = session.scalars(
        select(ConsentUse).where(
            ConsentUse.consent_id == consent.id,
            ConsentUse.granted.is_(True),
            ConsentUse.withdrawal_id.is_(None),
        )
    ).all()
    found = {use.purpose for use in uses}
    body = verified_receipt(consent, keyring)
    return [use["purpose"] for use in body["uses"] if use["purpose"] in found]


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


def consent_view(session: AnySession, keyring: Keyring, consent_id: str) -> ConsentView:
    """The consent as the patient agreed to it, and what it allows now.

    Raises NotFound, IntegrityFailure (the stored receipt does not verify).
    """
    # The withdrawal code is the patient's credential for this consent, whatever its team.
    consent = get_consent(session, consent_id, scope=EVERY_TEAM)
    body = verified_receipt(consent, keyring)
    request = get_request(session, consent.request_id, scope=EVERY_TEAM)
    form, definition = request_form(session, request)
    active = set(active_purposes(session, keyring, consent))
    uses = []
    for use in body["uses"]:
        purpose = use["purpose"]
        state = "refused" if not use["granted"] else "granted" if purpose in active else "withdrawn"
        uses.append(
            {
                "purpose": purpose,
                "label": use_label(purpose, form.language),
                "explanation": definition["purposes"][purpose]["explanation"],
                "channels": use["channels"],
                "state": state,
                # "Yes, only with my face hidden" (issue 19): the patient sees what they said.
                "face_hidden": use.get("face") == "hidden",
            }
        )
    return ConsentView(
        consent_id=consent.id,
        title=definition["title"],
        language=form.language,
        issued_at=body["issued_at"],
        expires_at=body["expires_at"],
        uses=uses,
        media=request_media(session, request.id),
    )
