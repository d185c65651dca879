"""GET /api/v1/forms: the form versions a request can use."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from consent.db import db
from consent.forms.models import FormVersion
from consent.web.auth import require_scope

blp = Blueprint("forms", __name__, url_prefix="/api/v1/forms", description="Forms")


class FormVersionOut(Schema):
    form = fields.String(required=True)
    version = fields.Integer(required=True)
    language = fields.String(required=True)
    title = fields.String(required=True)
    text_sha256 = fields.String(required=True)


class FormListOut(Schema):
    forms = fields.List(fields.Nested(FormVersionOut), required=True)


@blp.route("", methods=["GET"])
@require_scope("consents:write")
@blp.response(200, FormListOut)
def list_forms() -> dict[str, Any]:
    """Every form version, with the SHA-256 of the exact text a patient reads."""
    rows = db.session.scalars(
        select(FormVersion).order_by(FormVersion.form_id, FormVersion.version, FormVersion.language)
    )
    return {
        "forms": [
            {
                "form": row.form_id,
                "version": row.version,
                "language": row.language,
                "title": row.title,
                "text_sha256": row.text_sha256,
            }
            for row in rows
        ]
    }
