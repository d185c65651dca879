"""Consent requests, receipts and withdrawals over JSON (decisions: api.decisions and api.paper).

Each view parses, calls one workflow or service with the session, commits, and answers.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from consent.accounts.teams import member_for
from consent.api.schemas import EnvelopeSchema, FullMatch
from consent.consents.case_texts import MAX_TEXT_CHARACTERS, MAX_TEXTS
from consent.consents.decisions import get_consent
from consent.consents.requests import UseRequest, group_of, open_request
from consent.consents.signing import issue_link
from consent.consents.uses import CHANNEL, PURPOSES
from consent.db import db
from consent.records.envelope import receipt_envelope
from consent.settings import places
from consent.web.auth import RECORD_READERS, current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json
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
    texts = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_TEXT_CHARACTERS)),
        load_default=list,
        validate=validate.Length(max=MAX_TEXTS),
        metadata={
            "description": "The case texts as they will be published, in the request's "
            "language; the patient reads each in full and the receipt binds its normalised "
            "SHA-256. Screened first: a subject's name or record number in a text for a public "
            "use is refused unless confirm_identifiers is true (recorded)."
        },
    )
    confirm_identifiers = fields.Boolean(load_default=False)
    clinician = fields.String(
        validate=validate.Length(min=3, max=254),
        metadata={
            "description": "The e-mail of the account of the clinician who gives the "
            "information, a member of the patient's team; by default the key's account. "
            "Required with an integration's key."
        },
    )


SIGNING_URL_DOC = (
    "Single-use link that opens the request on the patient's tablet; it expires (30 minutes "
    "by default). Shown once."
)


class GroupRequestOut(Schema):
    id = fields.String(required=True)
    patient_id = fields.String(required=True)
    status = fields.String(required=True)
    signing_url = fields.String(required=True, metadata={"description": SIGNING_URL_DOC})


class RequestOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    signing_url = fields.String(required=True, metadata={"description": SIGNING_URL_DOC})
    group_id = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "When the media show other patients too (their subjects): the id "
            "shared by this request and one request per other subject, each decided by that "
            "person on their own; null otherwise."
        },
    )
    group = fields.List(
        fields.Nested(GroupRequestOut),
        required=True,
        metadata={"description": "The other subjects' requests of the group ([] without)."},
    )


WITHDRAWAL_URL = fields.String(
    required=True,
    metadata={
        "description": "The patient's own withdrawal page, with their code in the fragment "
        "(`<public url>/withdraw#code=...`; browsers never send a fragment to a server). "
        "Hand it to the patient only (it lets anyone holding it withdraw)."
    },
)


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
    clinician = member_for(
        db.session,
        email=payload.get("clinician"),
        account_id=caller.account_id,
        team_id=caller.team_id,
        field="clinician",
    )
    rt = runtime()
    request = open_request(
        db.session,
        scope=caller.scope,
        patient_id=payload["patient_id"],
        media_ids=payload["media_ids"],
        form_id=payload["form"],
        language=payload["language"],
        uses=[UseRequest(use["purpose"], use["channels"]) for use in payload["uses"]],
        expires_at=payload["expires_at"],
        clinician=clinician,
        texts=payload["texts"],
        confirm_identifiers=payload["confirm_identifiers"],
        vault=rt.vault,
        places=places(rt.settings),
    )
    links = {
        member.id: issue_link(
            db.session,
            request_id=member.id,
            minutes=rt.settings.signing_link_minutes,
            scope=caller.scope,
        )
        for member in group_of(db.session, request)
    }
    answer = {
        "id": request.id,
        "status": request.status,
        "signing_url": rt.links.signing(links[request.id].token),
        "group_id": request.group_id,
        "group": [
            {
                "id": member.id,
                "patient_id": member.patient_id,
                "status": member.status,
                "signing_url": rt.links.signing(links[member.id].token),
            }
            for member in group_of(db.session, request)
            if member.id != request.id
        ],
    }
    db.session.commit()
    return answer


@blp.route("/consents/<consent_id>/receipt", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.response(200, EnvelopeSchema)
def get_receipt(consent_id: str) -> dict[str, Any]:
    """The consent's receipt envelope, byte-exact as signed."""
    consent = get_consent(db.session, consent_id, scope=current_caller().reading_scope)
    return receipt_envelope(consent, runtime().keyring)


@blp.route("/consents/<consent_id>/withdrawal", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(WithdrawalIn())
@blp.response(201, WithdrawalOut)
def withdraw(payload: dict[str, Any], consent_id: str) -> dict[str, Any]:
    """Withdraw some or all granted uses; answer the withdrawal's own receipt."""
    keyring = runtime().keyring
    caller = current_caller()
    withdrawal = withdraw_uses(
        db.session,
        keyring,
        consent_id=consent_id,
        scope=caller.scope,
        purposes=payload.get("purposes"),
        recorded_by=caller.recorder(),
    )
    answer = {
        "withdrawal_id": withdrawal.id,
        "consent_id": consent_id,
        "receipt": receipt_envelope(withdrawal, keyring),
    }
    db.session.commit()
    return answer
