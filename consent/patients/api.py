"""POST /api/v1/patients."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from consent.accounts.auth import require_scope
from consent.http import accepts_json
from consent.patients.service import register_patient

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
    patient = register_patient(**payload)
    return {"id": patient.id}
