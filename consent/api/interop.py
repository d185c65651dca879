"""FHIR Consent resources and ISO/IEC TS 27560 records of consents, over JSON.

Same owner as the rest of the consents API: a key with the ``consents:write`` scope (the
clinicians' systems). The output never names the patient; the pseudonymous id stands for them.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from consent.api.schemas import ErrorSchema
from consent.db import db
from consent.web.auth import RECORD_READERS, current_caller, require_scope
from consent.web.context import runtime
from consent.workflows import exports as service

blp = Blueprint("interop", __name__, url_prefix="/api/v1", description="Interoperability")

FHIR_JSON = "application/fhir+json"
VERSION_PARAMETER = {
    "in": "query",
    "name": "version",
    "required": True,
    "schema": {"type": "string", "enum": ["R4", "R5"]},
    "description": "The FHIR release: R4 (validated as R4B, whose Consent is R4's) or R5.",
}
FORMAT_PARAMETER = {
    "in": "query",
    "name": "format",
    "required": True,
    "schema": {"type": "string", "enum": ["iso27560"]},
}
RESOURCE_SCHEMA = {"type": "object", "description": "A FHIR resource (JSON)."}


def _fhir(resource: dict[str, Any]) -> Response:
    response = jsonify(resource)
    response.mimetype = FHIR_JSON
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/consents/<consent_id>/fhir", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.doc(parameters=[VERSION_PARAMETER])
@blp.response(200, RESOURCE_SCHEMA, content_type=FHIR_JSON)
@blp.alt_response(400, schema=ErrorSchema, description="No version, or not R4 or R5.")
@blp.alt_response(404, schema=ErrorSchema, description="No such consent.")
def consent_fhir(consent_id: str) -> Response:
    """The consent as a FHIR Consent resource (R4 or R5): status, one provision per use,
    the media items by SHA-256, the receipt PDF as source attachment. No identity."""
    version = service.fhir_version(request.args)
    return _fhir(
        service.fhir_consent(
            db.session, runtime(), consent_id, version, scope=current_caller().reading_scope
        )
    )


@blp.route("/patients/<patient_id>/fhir", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.doc(parameters=[VERSION_PARAMETER])
@blp.response(200, RESOURCE_SCHEMA, content_type=FHIR_JSON)
@blp.alt_response(400, schema=ErrorSchema, description="No version, or not R4 or R5.")
@blp.alt_response(404, schema=ErrorSchema, description="No such patient.")
def patient_fhir(patient_id: str) -> Response:
    """Every consent of a patient as a FHIR Bundle (type collection), erased patients too."""
    version = service.fhir_version(request.args)
    return _fhir(
        service.fhir_patient_bundle(
            db.session, runtime(), patient_id, version, scope=current_caller().reading_scope
        )
    )


@blp.route("/consents/<consent_id>/record", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.doc(parameters=[FORMAT_PARAMETER])
@blp.response(200, {"type": "object"})
@blp.alt_response(400, schema=ErrorSchema, description="No format, or not iso27560.")
@blp.alt_response(404, schema=ErrorSchema, description="No such consent.")
def consent_record(consent_id: str) -> Response:
    """The consent as an ISO/IEC TS 27560 consent record (see docs/iso27560.md)."""
    record_format = service.record_format(request.args)
    response = jsonify(
        service.iso_record(
            db.session, runtime(), consent_id, record_format, scope=current_caller().reading_scope
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response
