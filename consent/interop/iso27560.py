"""A consent record in the shape of ISO/IEC TS 27560, from verified receipts. No Flask here.

docs/iso27560.md maps each field of the technical specification to where the signed receipt
(or the form text it binds by SHA-256) carries it. The record is derived, not signed itself:
whoever needs proof checks the receipts it names (``proof``) with the service's public key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

FORMATS = ("iso27560",)
PROFILE = "consent-service/iso27560/1"

# Who receives the media for each use: the audience section of the form text, in a word.
RECIPIENTS = {
    "care_record": ["the patient's care team"],
    "teaching": ["students and health workers"],
    "professional_network": ["health workers on the named professional network"],
    "public_social_network": ["the public, worldwide"],
    "journal_publication": ["the journal's readers"],
    "survey": ["the study team"],
}
# What is done with the media for each use (TS 27560 "processing" terms).
PROCESSING = {
    "care_record": ["store", "use"],
    "teaching": ["store", "use", "disclose"],
    "professional_network": ["store", "disclose", "publish"],
    "public_social_network": ["store", "disclose", "publish"],
    "journal_publication": ["store", "disclose", "publish"],
    "survey": ["store", "use", "analyse"],
}
# GDPR art. 6(1)(a) consent, and art. 9(2)(a) explicit consent for health data (DOMAIN.md).
LEGAL_BASIS = [
    {"framework": "GDPR", "article": "6(1)(a)", "basis": "consent"},
    {"framework": "GDPR", "article": "9(2)(a)", "basis": "explicit consent"},
]


class UnknownFormat(ValueError):
    """The record format asked for is not one we write."""


@dataclass(frozen=True)
class Event:
    """One thing that happened to the consent, with its logged receipt when it has one."""

    kind: str  # given, withdrawn, expired, erased
    at: str
    receipt_id: str | None = None
    log_index: int | None = None
    purposes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordFacts:
    receipt: dict[str, Any]
    receipt_bytes: bytes
    key_id: str
    withdrawn: frozenset[str]
    expired: bool
    erased: bool
    events: tuple[Event, ...]
    dpo_contact: str
    notice_url: str
    withdrawal_url: str


def state(facts: RecordFacts) -> str:
    """active; or withdrawn (every granted use), expired, erased; refused when nothing granted."""
    granted = {use["purpose"] for use in facts.receipt["uses"] if use["granted"]}
    if facts.erased:
        return "erased"
    if granted and granted <= facts.withdrawn:
        return "withdrawn"
    if facts.expired:
        return "expired"
    return "active" if granted else "refused"


def _use_state(facts: RecordFacts, use: dict[str, Any]) -> str:
    if not use["granted"]:
        return "refused"
    if use["purpose"] in facts.withdrawn:
        return "withdrawn"
    return "expired" if facts.expired else "granted"


def consent_record(facts: RecordFacts, record_format: str) -> dict[str, Any]:
    """The record in ``record_format``. Raises UnknownFormat."""
    if record_format not in FORMATS:
        raise UnknownFormat(record_format)
    receipt = facts.receipt
    form = receipt["form"]
    return {
        "profile": PROFILE,
        "record_id": receipt["receipt_id"],
        "pii_principal_id": receipt["subject"],
        "consent_type": "explicit",
        "collection_method": receipt["method"],
        "presented_language": form["language"],
        "notice": {
            "id": form["id"],
            "version": form["version"],
            "language": form["language"],
            "sha256": form["sha256"],
            "url": facts.notice_url,
        },
        "controllers": [
            {
                "name": receipt["controller"],
                "contact": facts.dpo_contact,
                "jurisdiction": receipt["jurisdiction"],
            }
        ],
        "jurisdiction": receipt["jurisdiction"],
        "legal_basis": LEGAL_BASIS,
        "pii_categories": ["health data", "photographs and video recordings of the person"]
        + (["case texts written about the person"] if receipt.get("texts") else []),
        "pii": [
            {
                "sha256": item["sha256"],
                "media_type": item["media_type"],
                "size": item["size"],
                # The face-masked copy the patient saw (issue 19), when a use needs it.
                **({"masked_sha256": item["masked_sha256"]} if "masked_sha256" in item else {}),
            }
            for item in receipt["media"]
        ]
        + [
            # Case texts (issue 20): the SHA-256 of the normal form and the length in characters.
            {"sha256": item["sha256"], "media_type": "text/plain", "characters": item["characters"]}
            for item in receipt.get("texts", [])
        ],
        "purposes": [
            {
                "purpose": use["purpose"],
                "granted": use["granted"],
                "state": _use_state(facts, use),
                "channels": use["channels"],
                "recipients": RECIPIENTS.get(use["purpose"], []),
                "processing": PROCESSING.get(use["purpose"], []),
                # "Yes, only with my face hidden": granted for the face-masked copies only.
                **({"face": "hidden"} if use.get("face") == "hidden" else {}),
            }
            for use in receipt["uses"]
        ],
        "retention": {
            "until": receipt["expires_at"],
            "notice_section": "storage",
        },
        "expires_at": receipt["expires_at"],
        "signer": receipt["signer"],
        "informed_by": receipt["informed_by"],
        "state": state(facts),
        "withdrawal": {
            "method": "withdrawal code or QR code printed on the receipt, or the care team",
            "url": facts.withdrawal_url,
            "notice_section": "your_rights",
        },
        "events": [_event(event) for event in facts.events],
        "proof": {
            "receipt_sha256": hashlib.sha256(facts.receipt_bytes).hexdigest(),
            "key_id": facts.key_id,
            "log_index": receipt["log_index"],
        },
    }


def _event(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": event.kind, "at": event.at}
    if event.receipt_id is not None:
        out["receipt_id"] = event.receipt_id
        out["log_index"] = event.log_index
    if event.purposes:
        out["purposes"] = list(event.purposes)
    return out
