"""Consent requests, decisions, receipts and withdrawals over JSON."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent.accounts.auth import current_caller, require_scope
from consent.apischemas import EnvelopeSchema, FullMatch
from consent.consents import service
from consent.consents.signing import issue_link
from consent.consents.uses import CHANNEL, METHODS, PURPOSES, RELATIONSHIPS, SIGNER_ROLES
from consent.errors import InvalidInput
from consent.http import accepts_json

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="Consents")

ID = validate.Length(min=1, max=40)


class UseIn(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    channels = fields.List(
        fields.String(validate=FullMatch(CHANNEL, error="Channels are lower-case names.")),
        load_default=list,
        validate=validate.Length(max=20),
    )


class RequestIn(Schema):
    patient_id = fields.String(required=True, validate=ID)
    media_ids = fields.List(
        fields.String(validate=ID), required=True, validate=validate.Length(min=1, max=50)
    )
    form = fields.String(required=True, validate=validate.Length(min=1, max=64))
    language = fields.String(required=True, validate=validate.Length(min=2, max=8))
    uses = fields.List(
        fields.Nested(UseIn), required=True, validate=validate.Length(min=1, max=len(PURPOSES))
    )
    expires_at = fields.AwareDateTime(required=True, format="iso")
    clinician = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Who gives the information; defaults to the key's account."},
    )


class RequestOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    signing_url = fields.String(
        required=True,
        metadata={
            "description": "Single-use link that opens the request on the patient's tablet; "
            "it expires (30 minutes by default). Shown once."
        },
    )


class SignerIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(SIGNER_ROLES))
    name = fields.String(validate=validate.Length(min=1, max=200))
    relationship = fields.String(validate=validate.OneOf(RELATIONSHIPS))


class ChoiceIn(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    # Only JSON true or false: "yes", 1 or "on" are not an explicit answer.
    granted = fields.Boolean(required=True, truthy={True}, falsy={False})


class DecisionIn(Schema):
    signer = fields.Nested(SignerIn, required=True)
    choices = fields.List(
        fields.Nested(ChoiceIn), required=True, validate=validate.Length(min=1, max=len(PURPOSES))
    )
    method = fields.String(required=True, validate=validate.OneOf(METHODS))

    @validates_schema
    def _one_choice_per_use(self, data: dict[str, Any], **_: Any) -> None:
        purposes = [choice["purpose"] for choice in data.get("choices", [])]
        if len(purposes) != len(set(purposes)):
            raise ValidationError("Each purpose may be answered once.", "choices")


class DecisionOut(Schema):
    consent_id = fields.String(required=True)
    receipt = fields.Nested(EnvelopeSchema, required=True)


class WithdrawalIn(Schema):
    purposes = fields.List(
        fields.String(validate=validate.OneOf(PURPOSES)),
        validate=validate.Length(min=1, max=len(PURPOSES)),
        metadata={"description": "The uses to withdraw; all granted uses when absent."},
    )


class WithdrawalOut(Schema):
    withdrawal_id = fields.String(required=True)
    consent_id = fields.String(required=True)
    receipt = fields.Nested(EnvelopeSchema, required=True)


@blp.route("/requests", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(RequestIn())
@blp.response(201, RequestOut)
def create_request(payload: dict[str, Any]) -> dict[str, Any]:
    """Open a consent request for specific media items and uses."""
    caller = current_caller()
    clinician = payload.get("clinician") or caller.clinician_name
    if not clinician:
        raise InvalidInput(
            "Name the clinician who gives the information.",
            errors={"clinician": ["Required when the API key is not tied to a clinician."]},
        )
    request = service.open_request(
        patient_id=payload["patient_id"],
        media_ids=payload["media_ids"],
        form_id=payload["form"],
        language=payload["language"],
        uses=[service.UseRequest(use["purpose"], use["channels"]) for use in payload["uses"]],
        expires_at=payload["expires_at"],
        clinician_name=clinician,
        account_id=caller.account_id,
    )
    link = issue_link(request.id)
    return {"id": request.id, "status": request.status, "signing_url": link.url}


@blp.route("/requests/<request_id>/decision", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(DecisionIn())
@blp.response(201, DecisionOut)
def record_decision(payload: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Record the patient's yes or no for every use; answer the signed receipt."""
    signer = payload["signer"]
    consent = service.record_decision(
        request_id=request_id,
        signer=service.Signer(signer["role"], signer.get("name"), signer.get("relationship")),
        choices={choice["purpose"]: choice["granted"] for choice in payload["choices"]},
        method=payload["method"],
    )
    return {"consent_id": consent.id, "receipt": service.receipt_envelope(consent)}


@blp.route("/consents/<consent_id>/receipt", methods=["GET"])
@require_scope("consents:write")
@blp.response(200, EnvelopeSchema)
def get_receipt(consent_id: str) -> dict[str, Any]:
    """The consent's receipt envelope, byte-exact as signed."""
    return service.receipt_envelope(service.get_consent(consent_id))


@blp.route("/consents/<consent_id>/withdrawal", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(WithdrawalIn())
@blp.response(201, WithdrawalOut)
def withdraw(payload: dict[str, Any], consent_id: str) -> dict[str, Any]:
    """Withdraw some or all granted uses; answer the withdrawal's own receipt."""
    withdrawal = service.withdraw(consent_id=consent_id, purposes=payload.get("purposes"))
    return {
        "withdrawal_id": withdrawal.id,
        "consent_id": consent_id,
        "receipt": service.receipt_envelope(withdrawal),
    }
