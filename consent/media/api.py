"""POST /api/v1/media: upload a photo or video of a patient."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from consent.accounts.auth import require_scope
from consent.http import accepts_multipart
from consent.media.service import add_media

blp = Blueprint("media", __name__, url_prefix="/api/v1/media", description="Media items")


class MediaForm(Schema):
    patient_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class MediaFile(Schema):
    file = Upload(required=True)


class MediaOut(Schema):
    id = fields.String(required=True)
    sha256 = fields.String(required=True)
    phash = fields.String(allow_none=True, required=True)
    media_type = fields.String(required=True)
    size = fields.Integer(required=True)


@blp.route("", methods=["POST"])
@require_scope("consents:write")
@accepts_multipart
@blp.arguments(MediaForm(), location="form")
@blp.arguments(MediaFile(), location="files")
@blp.response(201, MediaOut)
def upload_media(form: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    """Store a media item, encrypted; answer its SHA-256 and perceptual hash."""
    item = add_media(
        patient_id=form["patient_id"], description=form["description"], stream=files["file"].stream
    )
    return {
        "id": item.id,
        "sha256": item.sha256,
        "phash": item.phash,
        "media_type": item.media_type,
        "size": item.size_bytes,
    }
