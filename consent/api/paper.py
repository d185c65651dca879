"""The paper path over JSON: a decision signed on paper (its scan and the ticks), and the scan
of a paper consent. Routes of the consents blueprint (api.consents)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from consent.accounts.teams import member_for
from consent.api.consents import WITHDRAWAL_URL, blp

__all__ = ["blp"]
from consent.api.schemas import EnvelopeSchema
from consent.consents.decisions import Signer, withdrawal_code
from consent.consents.paper import paper_scan
from consent.consents.requests import get_request
from consent.consents.uses import FACE_HIDDEN, PURPOSES, RELATIONSHIPS, SIGNER_ROLES
from consent.db import db
from consent.records.envelope import receipt_envelope
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_multipart
from consent.workflows.decide import record_on_paper

# "face_hidden": ticked "yes, only with my face hidden" (issue 19).
PAPER_ANSWERS = ("granted", "face_hidden", "refused")


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
        validate=validate.Length(min=3, max=254),
        metadata={
            "description": "The e-mail of the account of the clinician who enters the paper "
            "form, a member of the patient's team; by default the key's account. Required "
            "with an integration's key."
        },
    )


def _ticked(purpose: str) -> fields.String:
    return fields.String(
        validate=validate.OneOf(PAPER_ANSWERS),
        metadata={
            "description": f"The box ticked for {purpose}: granted, face_hidden (yes, only with "
            "the face hidden) or refused. Every use the "
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
    request = get_request(db.session, request_id, scope=caller.scope)
    entering = member_for(
        db.session,
        email=form.get("entered_by"),
        account_id=caller.account_id,
        team_id=request.team_id,
        field="entered_by",
    )
    rt = runtime()
    consent = record_on_paper(
        db.session,
        rt,
        request_id=request_id,
        scope=caller.scope,
        signer=Signer(form["signer_role"], form.get("signer_name"), form.get("relationship")),
        choices={
            p: FACE_HIDDEN if form[p] == "face_hidden" else form[p] == "granted"
            for p in PURPOSES
            if p in form
        },
        scan=files["scan"].stream,
        entered_by=entering,
        recorded_by=caller.recorder(),
    )
    code = withdrawal_code(db.session, rt.vault, consent)
    answer = {
        "consent_id": consent.id,
        "receipt": receipt_envelope(consent, rt.keyring),
        "withdrawal_code": code,
        "withdrawal_url": rt.links.withdrawal(code),
    }
    db.session.commit()
    return answer


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
    rt = runtime()
    data, media_type = paper_scan(
        db.session, rt.keyring, rt.vault, rt.files, consent_id, scope=current_caller().scope
    )
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[media_type]
    response = Response(data, mimetype=media_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{consent_id}-paper-form.{extension}"'
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
