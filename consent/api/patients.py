"""POST /api/v1/patients."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from consent.db import db
from consent.errors import Forbidden
from consent.patients.service import register_patient
from consent.records.envelope import receipt_envelope
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json
from consent.workflows.erase import erase_patient

blp = Blueprint("patients", __name__, url_prefix="/api/v1/patients", description="Patients")


class PatientIn(Schema):
    record_number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    birth_date = fields.Date(required=True)


class PatientOut(Schema):
    id = fields.String(required=True)


@blp.route("", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(PatientIn())
@blp.response(201, PatientOut)
def create_patient(payload: dict[str, Any]) -> dict[str, str]:
    """Register a patient; the identity is sealed, the answer is a pseudonymous id."""
    patient = register_patient(
        db.session, runtime().vault, team_id=current_caller().team_id, **payload
    )
    db.session.commit()
    return {"id": patient.id}


class ErasureOut(Schema):
    erasure_id = fields.String(required=True)
    log_index = fields.Integer(required=True)
    receipt = fields.Dict(required=True)


@blp.route("/<patient_id>/erasure", methods=["POST"])
@require_scope("consents:write")
@blp.response(201, ErasureOut)
def erase(patient_id: str) -> dict[str, Any]:
    """Erase a patient (admins only): identity and media destroyed, consents withdrawn, an
    erasure receipt logged. Cannot be undone."""
    if not current_caller().is_admin:
        raise Forbidden("Only an administrator's key may erase a patient.")
    rt = runtime()
    caller = current_caller()
    erasure = erase_patient(
        db.session,
        rt.keyring,
        rt.files,
        patient_id,
        scope=caller.scope,
        recorded_by=caller.recorder(),
    )
    answer = {
        "erasure_id": erasure.id,
        "log_index": erasure.log_index,
        "receipt": receipt_envelope(erasure, rt.keyring),
    }
    db.session.commit()
    return answer
