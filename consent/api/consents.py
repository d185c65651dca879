"""Consent requests, decisions, receipts and withdrawals over JSON."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from consent.api.schemas import EnvelopeSchema, FullMatch
from consent.consents import paper, service
from consent.consents.signing import issue_link
from consent.consents.uses import CHANNEL, METHODS, PURPOSES, RELATIONSHIPS, SIGNER_ROLES
from consent.errors import InvalidInput
from consent.web.auth import RECORD_READERS, current_caller, require_scope
from consent.web.guards import accepts_json, accepts_multipart
from consent.workflows.documents import withdrawal_link

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
    return {
        "consent_id": consent.id,
        "receipt": service.receipt_envelope(consent),
        "withdrawal_url": withdrawal_link(service.withdrawal_code(consent)),
    }


@blp.route("/consents/<consent_id>/receipt", methods=["GET"])
@require_scope(RECORD_READERS)
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


PAPER_ANSWERS = ("granted", "refused")


class PaperSigner(Schema):
    """Who signed the paper form, and who enters it."""

    signer_role = fields.String(
        load_default="patient",
        validate=validate.OneOf(SIGNER_ROLES),
        metadata={"description": "Who signed the paper form."},
    )
    signer_name = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A legal representative's full name (kept encrypted)."},
    )
    relationship = fields.String(
        validate=validate.OneOf(RELATIONSHIPS),
        metadata={"description": "How a legal representative represents the patient."},
    )
    entered_by = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Who enters the paper form; defaults to the key's account."},
    )


def _ticked(purpose: str) -> fields.String:
    return fields.String(
        validate=validate.OneOf(PAPER_ANSWERS),
        metadata={
            "description": f"The box ticked for {purpose}: granted or refused. Every use the "
            "request asks about must be answered, and no other."
        },
    )


# The form fields: the signer, and one field per use (teaching=granted, survey=refused ...).
PaperForm = type("PaperForm", (PaperSigner,), {purpose: _ticked(purpose) for purpose in PURPOSES})


class PaperFile(Schema):
    scan = Upload(
        required=True,
        metadata={"description": "The scan of the signed form: PDF, JPEG or PNG (by content)."},
    )


class PaperDecisionOut(Schema):
    consent_id = fields.String(required=True)
    receipt = fields.Nested(EnvelopeSchema, required=True)
    withdrawal_code = fields.String(
        required=True,
        metadata={"description": "The patient's withdrawal code, to hand to them."},
    )
    withdrawal_url = WITHDRAWAL_URL


@blp.route("/requests/<request_id>/paper", methods=["POST"])
@require_scope("consents:write")
@accepts_multipart
@blp.arguments(PaperForm(), location="form")
@blp.arguments(PaperFile(), location="files")
@blp.response(201, PaperDecisionOut)
def record_paper_decision(
    form: dict[str, Any], files: dict[str, Any], request_id: str
) -> dict[str, Any]:
    """Record a decision signed on paper: the scan of the form and the choices as ticked.

    The receipt records method `paper` and the scan's SHA-256; the scan is stored encrypted.
    Open tablet links of the request stop working. 409 when the request is decided or was
    signed on the tablet.
    """
    caller = current_caller()
    entered_by = form.get("entered_by") or caller.clinician_name
    if not entered_by:
        raise InvalidInput(
            "Name the clinician who enters the paper form.",
            errors={"entered_by": ["Required when the API key is not tied to a clinician."]},
        )
    consent = paper.record_paper_decision(
        request_id=request_id,
        signer=service.Signer(
            form["signer_role"], form.get("signer_name"), form.get("relationship")
        ),
        choices={p: form[p] == "granted" for p in PURPOSES if p in form},
        scan=files["scan"].stream,
        entered_by=entered_by,
        account_id=caller.account_id,
    )
    code = service.withdrawal_code(consent)
    return {
        "consent_id": consent.id,
        "receipt": service.receipt_envelope(consent),
        "withdrawal_code": code,
        "withdrawal_url": withdrawal_link(code),
    }


@blp.route("/consents/<consent_id>/paper-scan", methods=["GET"])
@require_scope("consents:write")
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/octet-stream",
    description="The original bytes, with Content-Type application/pdf, image/jpeg or image/png.",
)
def get_paper_scan(consent_id: str) -> Response:
    """The scan of a consent signed on paper, decrypted, byte for byte as uploaded."""
    data, media_type = paper.paper_scan(consent_id)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[media_type]
    response = Response(data, mimetype=media_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{consent_id}-paper-form.{extension}"'
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
