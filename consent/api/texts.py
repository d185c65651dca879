"""POST /api/v1/verify/text (may this text be published?) and /api/v1/screen/text (what in it
could identify someone?)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from consent.api.schemas import AnswerEnvelopeSchema, ErrorSchema, FullMatch
from consent.consents.case_texts import MAX_TEXT_CHARACTERS
from consent.consents.decisions import get_consent
from consent.consents.screening import screen
from consent.consents.uses import CHANNEL, PURPOSES
from consent.db import db
from consent.patients.service import identity
from consent.settings import places
from consent.verify.query import CHANNEL_ERROR, PURPOSE_ERROR
from consent.verify.texts import decide_text
from consent.web import verifylimit as ratelimit
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json

blp = Blueprint("texts", __name__, url_prefix="/api/v1", description="Case texts")

TEXT = validate.Length(min=1, max=MAX_TEXT_CHARACTERS)


class VerifyTextIn(Schema):
    text = fields.String(required=True, validate=TEXT)
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES, error=PURPOSE_ERROR))
    channel = fields.String(validate=FullMatch(CHANNEL, error=CHANNEL_ERROR))


class ScreenIn(Schema):
    text = fields.String(required=True, validate=TEXT)
    consent_id = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "The consent that covers the text (of the key's team): the "
            "subject's own name, record number and birth date are looked for too."
        },
    )


class FindingOut(Schema):
    kind = fields.String(required=True)
    start = fields.Integer(required=True, metadata={"description": "First character (0-based)."})
    end = fields.Integer(required=True, metadata={"description": "One past the last character."})
    subject = fields.Boolean(required=True)
    reason = fields.String(required=True)


class ScreenOut(Schema):
    findings = fields.List(fields.Nested(FindingOut), required=True)


@blp.route("/verify/text", methods=["POST"])
@require_scope("verify")
@accepts_json
@blp.arguments(VerifyTextIn())
@blp.alt_response(429, schema=ErrorSchema, description="Too many calls with this key.")
@blp.response(200, AnswerEnvelopeSchema)
def verify_text(payload: dict[str, Any]) -> Response:
    """May this text be published for this purpose and channel? Exact, or an edit (modified)."""
    ratelimit.enforce(current_caller())
    signed = decide_text(
        text=payload["text"],
        purpose=payload["purpose"],
        channel=payload.get("channel"),
        engine=db.engine,
        keyring=runtime().keyring,
    )
    return Response(signed.envelope_json, mimetype="application/json")


@blp.route("/screen/text", methods=["POST"])
@require_scope("verify")
@accepts_json
@blp.arguments(ScreenIn())
@blp.response(200, ScreenOut)
def screen_text(payload: dict[str, Any]) -> dict[str, Any]:
    """What in this text could identify someone: kinds and offsets, never the identity."""
    rt = runtime()
    known = None
    if payload.get("consent_id"):
        caller = current_caller()
        consent = get_consent(db.session, payload["consent_id"], scope=caller.scope)
        known = identity(db.session, rt.vault, consent.patient_id, scope=caller.scope)
    findings = screen(payload["text"], identity=known, places=places(rt.settings))
    return {"findings": [finding.as_dict() for finding in findings]}
