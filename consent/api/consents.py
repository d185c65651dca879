"""Consent requests, decisions, receipts and withdrawals over JSON (the paper path: api.paper).

Each view parses, calls one workflow or service with the session, commits, and answers.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent.api.schemas import EnvelopeSchema, FullMatch
from consent.consents.decisions import Signer, get_consent, withdrawal_code
from consent.consents.requests import UseRequest, open_request
from consent.consents.signing import issue_link
from consent.consents.uses import CHANNEL, METHODS, PURPOSES, RELATIONSHIPS, SIGNER_ROLES
from consent.db import db
from consent.errors import InvalidInput
from consent.records.envelope import receipt_envelope
from consent.web.auth import RECORD_READERS, current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json
from consent.workflows import decide
from consent.workflows.withdraw import withdraw as withdraw_uses

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
    method = fields.String(
        required=True,
        validate=validate.OneOf([method for method in METHODS if method != "paper"]),
        metadata={
            "description": "A form signed on paper goes to POST /requests/{request_id}/paper, "
            "with its scan."
        },
    )

    @validates_schema
    def _one_choice_per_use(self, data: dict[str, Any], **_: Any) -> None:
        purposes = [choice["purpose"] for choice in data.get("choices", [])]
        if len(purposes) != len(set(purposes)):
            raise ValidationError("Each purpose may be answered once.", "choices")


WITHDRAWAL_URL = fields.String(
    required=True,
    metadata={
        "description": "The patient's own withdrawal page, with their code in the fragment "
        "(`<public url>/withdraw#code=...`; browsers never send a fragment to a server). "
        "Hand it to the patient only (it lets anyone holding it withdraw)."
    },
)


class DecisionOut(Schema):
    consent_id = fields.String(required=True)
    receipt = fields.Nested(EnvelopeSchema, required=True)
    withdrawal_url = WITHDRAWAL_URL


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
    rt = runtime()
    request = open_request(
        db.session,
        patient_id=payload["patient_id"],
        media_ids=payload["media_ids"],
        form_id=payload["form"],
        language=payload["language"],
        uses=[UseRequest(use["purpose"], use["channels"]) for use in payload["uses"]],
        expires_at=payload["expires_at"],
        clinician_name=clinician,
        account_id=caller.account_id,
    )
    link = issue_link(db.session, request_id=request.id, minutes=rt.settings.signing_link_minutes)
    answer = {
        "id": request.id,
        "status": request.status,
        "signing_url": rt.links.signing(link.token),
    }
    db.session.commit()
    return answer


@blp.route("/requests/<request_id>/decision", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(DecisionIn())
@blp.response(201, DecisionOut)
def record_decision(payload: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Record the patient's yes or no for every use; answer the signed receipt."""
    signer = payload["signer"]
    rt = runtime()
    consent = decide.record_decision(
        db.session,
        rt,
        request_id=request_id,
        signer=Signer(signer["role"], signer.get("name"), signer.get("relationship")),
        choices={choice["purpose"]: choice["granted"] for choice in payload["choices"]},
        method=payload["method"],
    )
    answer = {
        "consent_id": consent.id,
        "receipt": receipt_envelope(consent, rt.keyring),
        "withdrawal_url": rt.links.withdrawal(withdrawal_code(db.session, rt.vault, consent)),
    }
    db.session.commit()
    return answer


@blp.route("/consents/<consent_id>/receipt", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.response(200, EnvelopeSchema)
def get_receipt(consent_id: str) -> dict[str, Any]:
    """The consent's receipt envelope, byte-exact as signed."""
    return receipt_envelope(get_consent(db.session, consent_id), runtime().keyring)


@blp.route("/consents/<consent_id>/withdrawal", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(WithdrawalIn())
@blp.response(201, WithdrawalOut)
def withdraw(payload: dict[str, Any], consent_id: str) -> dict[str, Any]:
    """Withdraw some or all granted uses; answer the withdrawal's own receipt."""
    keyring = runtime().keyring
    withdrawal = withdraw_uses(
        db.session, keyring, consent_id=consent_id, purposes=payload.get("purposes")
    )
    answer = {
        "withdrawal_id": withdrawal.id,
        "consent_id": consent_id,
        "receipt": receipt_envelope(withdrawal, keyring),
    }
    db.session.commit()
    return answer
