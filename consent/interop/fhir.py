"""HL7 FHIR Consent resources (R4 and R5) from a verified consent receipt. No Flask here.

The mapping follows shared/DOMAIN.md: category LOINC 59284-0, scope ``patient-privacy`` (R4),
policyRule OPTIN (R4), one provision per use with its purpose (v3 ActReason where one fits,
and our own code system always), actor role PRCP, the period of the consent, and ``data`` with
meaning ``instance`` pointing at each media item (Media in R4, DocumentReference in R5) by its
SHA-256. The receipt PDF is the source attachment.

What never goes out: the patient's name, birth date or record number. The patient is named by
the pseudonymous id only (a logical reference by identifier), and a legal representative by
role and relationship.

R4 has ``provision.type`` (permit or deny) on every provision, so the R4 resource lists every
use: a base provision ``deny`` (an opt-in: nothing without a grant) with one nested provision
per use, ``permit`` for a use granted and not withdrawn, ``deny`` for a refused or withdrawn
one. R5 removed ``provision.type``: ``decision`` is the base rule and each provision is an
exception to it. The R5 resource therefore has ``decision: deny`` and one provision per use
that is permitted; refused and withdrawn uses are what the base rule already denies, and are
not repeated (a provision for them would turn them into permits).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consent.interop.fhir_codes import (
    ACT_CODE,
    ACT_REASON,
    ACT_REASONS,
    CONSENT_SCOPE,
    FACE_EXTENSION,
    LOINC,
    METHOD_EXTENSION,
    PARTICIPATION,
    PURPOSE_SYSTEM,
    RECEIPT_SHA256_EXTENSION,
    RELATIONSHIP_CODES,
    SHA256_SYSTEM,  # noqa: F401 (re-exported: tests and readers name it from here)
)
from consent.interop.fhir_data import provision_data

VERSIONS = ("R4", "R5")


class UnknownVersion(ValueError):
    """The FHIR version asked for is not R4 or R5."""


@dataclass(frozen=True)
class ReceiptDocument:
    """The receipt PDF as served: where, and its hashes (SHA-1 as FHIR wants, and SHA-256)."""

    url: str
    sha1_base64: str
    sha256_hex: str
    size: int


@dataclass(frozen=True)
class ConsentFacts:
    """What the mapping needs, all taken from verified receipts and the pseudonymous rows."""

    receipt: dict[str, Any]
    # Purposes withdrawn by the consent's (verified) withdrawal receipts.
    withdrawn: frozenset[str]
    expired: bool
    erased: bool
    # The identifier systems of this deployment (its public URL).
    base_url: str
    document: ReceiptDocument | None = None
    # The display of each use, in the glossary's words (schemas/glossary.yaml, English: the
    # local code system's language), handed in by the workflow; the code when absent.
    use_names: Mapping[str, str] = field(default_factory=dict)


def fhir_id(public_id: str) -> str:
    """A FHIR id for one of ours: ids allow ``[A-Za-z0-9.-]``, not the ``_`` after our prefix."""
    return public_id.replace("_", "-")


def uuid_urn(public_id: str) -> str:
    """``urn:uuid:`` of the 122 random bits in ``cs_<hex>``: a stable Bundle fullUrl."""
    return uuid.UUID(hex=public_id.split("_", 1)[1]).urn


def status(facts: ConsentFacts) -> str:
    """active, or inactive once erased, expired or every granted use withdrawn."""
    granted = {use["purpose"] for use in facts.receipt["uses"] if use["granted"]}
    if facts.erased or facts.expired or (granted and granted <= facts.withdrawn):
        return "inactive"
    return "active"


def consent_resource(facts: ConsentFacts, version: str) -> dict[str, Any]:
    """The Consent resource of ``version`` (R4 or R5). Raises UnknownVersion."""
    if version == "R4":
        return _r4(facts)
    if version == "R5":
        return _r5(facts)
    raise UnknownVersion(version)


def bundle(
    resources: list[tuple[str, dict[str, Any]]], *, bundle_id: str, timestamp: str
) -> dict[str, Any]:
    """A ``collection`` Bundle of (consent id, resource) pairs."""
    return {
        "resourceType": "Bundle",
        "id": fhir_id(bundle_id),
        "type": "collection",
        "timestamp": timestamp,
        "total": len(resources),
        "entry": [
            {"fullUrl": uuid_urn(consent_id), "resource": resource}
            for consent_id, resource in resources
        ],
    }


def _identifiers(facts: ConsentFacts) -> list[dict[str, Any]]:
    base = facts.base_url.rstrip("/")
    receipt = facts.receipt
    return [
        {"use": "official", "system": f"{base}/fhir/sid/consent", "value": receipt["receipt_id"]},
        {"system": f"{base}/fhir/sid/log-index", "value": str(receipt["log_index"])},
    ]


def _patient(facts: ConsentFacts) -> dict[str, Any]:
    # A logical reference: the pseudonymous id is all anyone outside learns of the patient.
    return {
        "type": "Patient",
        "identifier": {
            "system": f"{facts.base_url.rstrip('/')}/fhir/sid/patient",
            "value": facts.receipt["subject"],
        },
    }


def _grantor(facts: ConsentFacts) -> dict[str, Any]:
    signer = facts.receipt["signer"]
    if signer["role"] != "legal_representative":
        return _patient(facts)
    code = RELATIONSHIP_CODES.get(signer.get("relationship", ""), ("GUARD", "guardian"))
    return {"type": "RelatedPerson", "display": f"legal representative ({code[1]})"}


def _controller(facts: ConsentFacts) -> dict[str, Any]:
    return {"type": "Organization", "display": facts.receipt["controller"]}


def _category() -> list[dict[str, Any]]:
    return [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}]


def _purposes(facts: ConsentFacts, purpose: str) -> list[dict[str, Any]]:
    codings = []
    if purpose in ACT_REASONS:
        code, display = ACT_REASONS[purpose]
        codings.append({"system": ACT_REASON, "code": code, "display": display})
    codings.append(
        {
            "system": PURPOSE_SYSTEM,
            "code": purpose,
            "display": facts.use_names.get(purpose, purpose),
        }
    )
    return codings


def _period(facts: ConsentFacts) -> dict[str, str]:
    return {"start": facts.receipt["issued_at"], "end": facts.receipt["expires_at"]}


def _actor(facts: ConsentFacts) -> list[dict[str, Any]]:
    # PRCP, the primary information recipient: the controller that may use the media.
    role = {"coding": [{"system": PARTICIPATION, "code": "PRCP"}]}
    return [{"role": role, "reference": _controller(facts)}]


def _face(use: dict[str, Any]) -> dict[str, Any]:
    if use.get("face") != "hidden":
        return {}
    return {"extension": [{"url": FACE_EXTENSION, "valueCode": "hidden"}]}


def _permitted(facts: ConsentFacts, use: dict[str, Any]) -> bool:
    if use.get("face") == "hidden" and not provision_data(facts.receipt, "Media", use):
        return False  # nothing to permit: a provision without data would cover everything
    return bool(use["granted"]) and use["purpose"] not in facts.withdrawn and not facts.erased


def _attachment(facts: ConsentFacts) -> dict[str, Any] | None:
    document = facts.document
    if document is None:
        return None
    return {
        "contentType": "application/pdf",
        "language": facts.receipt["form"]["language"],
        "url": document.url,
        "size": document.size,
        # FHIR Attachment.hash: "The calculated hash of the data using SHA-1. Represented
        # using base64." The SHA-256 every other part of the service uses rides beside it.
        "hash": document.sha1_base64,
        "title": f"Consent receipt {facts.receipt['receipt_id']}",
        "creation": facts.receipt["issued_at"],
        "extension": [{"url": RECEIPT_SHA256_EXTENSION, "valueString": document.sha256_hex}],
    }


def _common(facts: ConsentFacts) -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "id": fhir_id(facts.receipt["receipt_id"]),
        "extension": [{"url": METHOD_EXTENSION, "valueCode": facts.receipt["method"]}],
        "identifier": _identifiers(facts),
        "status": status(facts),
        "category": _category(),
    }


def _r4(facts: ConsentFacts) -> dict[str, Any]:
    provisions = [
        {
            **_face(use),
            "type": "permit" if _permitted(facts, use) else "deny",
            "period": _period(facts),
            "actor": _actor(facts),
            "purpose": _purposes(facts, use["purpose"]),
            "data": provision_data(facts.receipt, "Media", use),
        }
        for use in facts.receipt["uses"]
    ]
    resource = {
        **_common(facts),
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "patient": _patient(facts),
        "dateTime": facts.receipt["issued_at"],
        "performer": [_grantor(facts)],
        "organization": [_controller(facts)],
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN"}]},
        "provision": {"type": "deny", "period": _period(facts), "provision": provisions},
    }
    attachment = _attachment(facts)
    if attachment is not None:
        resource["sourceAttachment"] = attachment
    return resource


def _r5(facts: ConsentFacts) -> dict[str, Any]:
    provisions = [
        {
            **_face(use),
            "period": _period(facts),
            "actor": _actor(facts),
            "purpose": _purposes(facts, use["purpose"]),
            "data": provision_data(facts.receipt, "DocumentReference", use),
        }
        for use in facts.receipt["uses"]
        if _permitted(facts, use)
    ]
    resource: dict[str, Any] = {
        **_common(facts),
        "subject": _patient(facts),
        # R5 Consent.date is a date, not a dateTime.
        "date": facts.receipt["issued_at"][:10],
        "period": _period(facts),
        "grantor": [_grantor(facts)],
        "controller": [_controller(facts)],
        "regulatoryBasis": [{"coding": [{"system": ACT_CODE, "code": "OPTIN"}]}],
        "decision": "deny",
    }
    if provisions:
        resource["provision"] = provisions
    attachment = _attachment(facts)
    if attachment is not None:
        resource["sourceAttachment"] = [attachment]
    return resource
