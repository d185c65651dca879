"""A decision collected elsewhere, over JSON: its choices with the evidence document of the
system that collected it (another e-signature tool, a patient portal). Routes of the consents
blueprint (api.consents).

A decision on the tablet is recorded only by the tablet flow (the patient's drawn signature,
in the signing session the link opened), one on paper only with its scan (api.paper): a call
that claims either here, or sends no evidence, is refused with what to send instead.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent.accounts.teams import member_for
from consent.api.consents import WITHDRAWAL_URL, blp
from consent.api.schemas import EnvelopeSchema
from consent.consents.decisions import EVIDENCE_NEEDED, Signer, withdrawal_code
from consent.consents.models import EVIDENCE_KINDS
from consent.consents.requests import get_request
from consent.consents.uses import FACE_HIDDEN, PURPOSES, RELATIONSHIPS, SIGNER_ROLES
from consent.db import db
from consent.errors import InvalidInput
from consent.records.envelope import receipt_envelope
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json_with_document
from consent.workflows.decide import Evidence, record_external

__all__ = ["blp"]


class SignerIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(SIGNER_ROLES))
    name = fields.String(validate=validate.Length(min=1, max=200))
    relationship = fields.String(validate=validate.OneOf(RELATIONSHIPS))


class ChoiceIn(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    # Only JSON true or false: "yes", 1 or "on" are not an explicit answer.
    granted = fields.Boolean(required=True, truthy={True}, falsy={False})
    face = fields.String(
        validate=validate.OneOf(["hidden"]),
        metadata={
            "description": "'hidden': yes, only with my face hidden (with granted true): the "
            "use is granted for the face-masked copy of each photo, never the original."
        },
    )

    @validates_schema
    def _face_hidden_is_a_yes(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("face") and not data.get("granted"):
            raise ValidationError("'face': 'hidden' goes with granted true.", "face")


class EvidenceIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(EVIDENCE_KINDS))
    source = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Where it comes from: 'DocuSign envelope 4F2...', a portal's id."},
    )
    document = fields.String(
        required=True,
        metadata={
            "description": "The evidence document itself, base64: a PDF, JPEG, PNG or JSON "
            "document (checked by content; kept encrypted; its SHA-256 goes in the receipt)."
        },
    )


class DecisionIn(Schema):
    signer = fields.Nested(SignerIn, required=True)
    choices = fields.List(
        fields.Nested(ChoiceIn), required=True, validate=validate.Length(min=1, max=len(PURPOSES))
    )
    method = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={
            "description": "'external': the decision was collected by another system, whose "
            "evidence comes with it. A decision on the tablet is recorded by the tablet flow "
            "only; one signed on paper by POST /requests/{request_id}/paper with its scan."
        },
    )
    evidence = fields.Nested(EvidenceIn)
    entered_by = fields.String(
        validate=validate.Length(min=3, max=254),
        metadata={
            "description": "The e-mail of the account of the clinician who enters it, a member "
            "of the patient's team; by default the key's account. Required with an "
            "integration's key."
        },
    )

    @validates_schema
    def _one_choice_per_use(self, data: dict[str, Any], **_: Any) -> None:
        purposes = [choice["purpose"] for choice in data.get("choices", [])]
        if len(purposes) != len(set(purposes)):
            raise ValidationError("Each purpose may be answered once.", "choices")


class DecisionOut(Schema):
    consent_id = fields.String(required=True)
    receipt = fields.Nested(EnvelopeSchema, required=True)
    withdrawal_url = WITHDRAWAL_URL


@blp.route("/requests/<request_id>/decision", methods=["POST"])
@require_scope("consents:write")
@accepts_json_with_document
@blp.arguments(DecisionIn())
@blp.response(201, DecisionOut)
def record_decision(payload: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Record a decision collected elsewhere, with its evidence; answer the signed receipt.

    422 without evidence, or for a method whose evidence only the service itself collects.
    """
    if payload["method"] != "external" or "evidence" not in payload:
        raise InvalidInput(
            EVIDENCE_NEEDED,
            errors={"method": ["Send method 'external' with evidence: kind, source, document."]},
        )
    caller = current_caller()
    request = get_request(db.session, request_id, scope=caller.scope)
    entering = member_for(
        db.session,
        email=payload.get("entered_by"),
        account_id=caller.account_id,
        team_id=request.team_id,
        field="entered_by",
    )
    evidence = payload["evidence"]
    try:
        document = base64.b64decode(evidence["document"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "The evidence document is not base64.", errors={"evidence": ["document: base64."]}
        ) from exc
    signer = payload["signer"]
    rt = runtime()
    consent = record_external(
        db.session,
        rt,
        request_id=request_id,
        scope=caller.scope,
        signer=Signer(signer["role"], signer.get("name"), signer.get("relationship")),
        choices={
            choice["purpose"]: FACE_HIDDEN if choice.get("face") == "hidden" else choice["granted"]
            for choice in payload["choices"]
        },
        evidence=Evidence(evidence["kind"], evidence["source"], document),
        entered_by=entering,
        recorded_by=caller.recorder(),
    )
    answer = {
        "consent_id": consent.id,
        "receipt": receipt_envelope(consent, rt.keyring),
        "withdrawal_url": rt.links.withdrawal(withdrawal_code(db.session, rt.vault, consent)),
    }
    db.session.commit()
    return answer
