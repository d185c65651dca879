"""POST /api/v1/media: upload a photo or video of a patient; its publishable copy, with the
copy's signed receipt and proof bundle."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from consent.api.schemas import EnvelopeSchema, ErrorSchema
from consent.db import db
from consent.media.faces import parse_faces
from consent.media.fingerprints import IMAGE_TYPES
from consent.media.models import MediaItem
from consent.media.service import RESOLUTIONS, add_media
from consent.media.subjects import add_subject, subject_ids
from consent.records.envelope import receipt_envelope
from consent.records.proofs import bundle_for
from consent.records.receipts import made_by
from consent.web.auth import RECORD_READERS, current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json, accepts_multipart
from consent.workflows.face_mask import recorded_masked_copy
from consent.workflows.rendition import EXTENSIONS, publishable_copy, recorded_copy
from consent.workflows.screen_rendition import prepare_screen_rendition

blp = Blueprint("media", __name__, url_prefix="/api/v1/media", description="Media items")


class MediaForm(Schema):
    patient_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    resolution = fields.String(
        load_default=None,
        validate=validate.OneOf(RESOLUTIONS),
        metadata={
            "description": "For a file the team already holds (the same SHA-256, or the same "
            "picture by perceptual hash), after a 409 named it: `reuse` when it shows the same "
            "person (the stored item is answered), `add_subject` when it shows another person "
            "in the same picture (the patient becomes one more subject of the stored item). "
            "Without it such a file is not stored."
        },
    )


class SubjectIn(Schema):
    patient_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class MediaFile(Schema):
    file = Upload(required=True)


class FaceBoxOut(Schema):
    x = fields.Integer(required=True)
    y = fields.Integer(required=True)
    w = fields.Integer(required=True)
    h = fields.Integer(required=True)
    by = fields.String(required=True, metadata={"description": "detector or clinician"})
    t = fields.Float(metadata={"description": "Seconds into a video, for a video's box."})


class MediaOut(Schema):
    id = fields.String(required=True)
    sha256 = fields.String(required=True)
    phash = fields.String(allow_none=True, required=True)
    media_type = fields.String(required=True)
    size = fields.Integer(required=True)
    subjects = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The patients the item shows, the uploader's first."},
    )
    faces = fields.List(
        fields.Nested(FaceBoxOut()),
        required=True,
        metadata={
            "description": "The faces found at upload (issue 19), in pixels of the photo as "
            "shown (EXIF orientation applied); `t`: seconds into a video. Empty when none was "
            "found: a detector misses faces, so a person should look."
        },
    )


@blp.route("", methods=["POST"])
@require_scope("consents:write")
@accepts_multipart
@blp.arguments(MediaForm(), location="form")
@blp.arguments(MediaFile(), location="files")
@blp.response(201, MediaOut)
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="The team already holds this file or picture: `errors.duplicate` names the "
    "item (`media_id`, `match` exact or perceptual, `distance`); send `resolution`. A file "
    "held by another team is refused with no word on what it matched.",
)
def upload_media(form: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    """Store a media item, encrypted; answer its SHA-256 and perceptual hash. A file the team
    already holds is stored once: see `resolution`."""
    rt = runtime()
    caller = current_caller()
    item = add_media(
        db.session,
        rt.vault,
        rt.files,
        patient_id=form["patient_id"],
        scope=caller.scope,
        description=form["description"],
        stream=files["file"].stream,
        limit=rt.settings.max_media_bytes,
        max_pixels=rt.settings.max_image_pixels,
        max_distance=rt.settings.phash_max_distance,
        resolution=form["resolution"],
        added_by=made_by(caller.recorder()),
    )
    prepare_screen_rendition(db.session, rt, item)
    db.session.commit()
    return _media_out(item)


@blp.route("/<string(maxlength=40):media_id>/subjects", methods=["POST"])
@require_scope("consents:write")
@accepts_json
@blp.arguments(SubjectIn())
@blp.response(201, MediaOut)
@blp.alt_response(404, schema=ErrorSchema, description="No such item or patient in the team.")
@blp.alt_response(409, schema=ErrorSchema, description="The patient already is a subject.")
@blp.alt_response(410, schema=ErrorSchema, description="The patient or the bytes were erased.")
def add_media_subject(payload: dict[str, Any], media_id: str) -> dict[str, Any]:
    """Add a patient of the item's team as one more person the item shows: each subject
    decides for themselves, and verify asks every one of them."""
    rt = runtime()
    caller = current_caller()
    item = add_subject(
        db.session,
        rt.vault,
        rt.files,
        media_id=media_id,
        patient_id=payload["patient_id"],
        scope=caller.scope,
        added_by=made_by(caller.recorder()),
    )
    db.session.commit()
    return _media_out(item)


def _media_out(item: MediaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "sha256": item.sha256,
        "phash": item.phash,
        "media_type": item.media_type,
        "size": item.size_bytes,
        "subjects": subject_ids(db.session, item.id),
        "faces": [box.as_json() for box in parse_faces(item.faces) or []],
    }


_BINARY = {"type": "string", "format": "binary"}


@blp.route("/<string(maxlength=40):media_id>/publishable", methods=["POST"])
@require_scope("consents:write")
@blp.response(200, _BINARY, content_type="image/jpeg")
@blp.doc(
    responses={
        "200": {
            "description": "The image without metadata, in the original's format.",
            "content": {media_type: {"schema": _BINARY} for media_type in IMAGE_TYPES},
            "headers": {
                "ETag": {"schema": {"type": "string"}, "description": "The copy's SHA-256."},
                "X-Rendition-Of": {
                    "schema": {"type": "string"},
                    "description": "The original's SHA-256.",
                },
            },
        }
    }
)
@blp.alt_response(404, schema=ErrorSchema, description="No such media item.")
@blp.alt_response(409, schema=ErrorSchema, description="An earlier copy had other bytes.")
@blp.alt_response(410, schema=ErrorSchema, description="The patient was erased.")
@blp.alt_response(422, schema=ErrorSchema, description="Not an image (a video).")
def publishable(media_id: str) -> Response:
    """The image with every metadata block removed (EXIF, GPS, XMP, IPTC, comments), pixels
    unchanged; recorded once as a rendition, so verify answers for it as for the original."""
    caller = current_caller()
    copy = publishable_copy(
        db.session, runtime(), media_id=media_id, scope=caller.scope, recorded_by=caller.recorder()
    )
    db.session.commit()
    assert copy.media_type in IMAGE_TYPES
    response = Response(copy.data, mimetype=copy.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{copy.file_name}"'
    # It shows a patient: no browser or proxy keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{copy.rendition.sha256}"'
    response.headers["X-Rendition-Of"] = copy.rendition_of
    return response


@blp.route("/<string(maxlength=40):media_id>/publishable/receipt", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.response(200, EnvelopeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No copy of this item was made.")
def publishable_receipt(media_id: str) -> dict[str, Any]:
    """The signed receipt of the item's publishable copy, byte-exact: it binds the copy's
    SHA-256 to the original's, and is in the log at the index it names."""
    return receipt_envelope(
        recorded_copy(db.session, media_id, scope=current_caller().reading_scope), runtime().keyring
    )


@blp.route("/<string(maxlength=40):media_id>/publishable/proof", methods=["GET"])
@require_scope(RECORD_READERS)
@blp.response(200, {"type": "string"}, content_type="text/plain")
@blp.alt_response(404, schema=ErrorSchema, description="No copy of this item was made.")
def publishable_proof(media_id: str) -> Response:
    """The copy's receipt's offline proof bundle (c2sp.org/tlog-proof), for consent-verify."""
    rt = runtime()
    index = recorded_copy(db.session, media_id, scope=current_caller().reading_scope).log_index
    bundle = bundle_for(db.session, rt.keyring, origin=rt.log_origin, index=index)
    return Response(bundle, mimetype="text/plain")


@blp.route("/<string(maxlength=40):media_id>/masked", methods=["GET"])
@require_scope("consents:write")
@blp.response(200, _BINARY, content_type="image/jpeg")
@blp.alt_response(404, schema=ErrorSchema, description="No face-masked copy was recorded.")
@blp.alt_response(409, schema=ErrorSchema, description="It no longer comes out the same.")
@blp.alt_response(410, schema=ErrorSchema, description="The patient was erased.")
def masked(media_id: str) -> Response:
    """The photo or video (MP4) with its faces hidden, as the patient saw it and as recorded
    when they granted a use only with their face hidden (the ``masked_sha256`` of a
    ``masked_only`` answer); verify answers ``allowed`` for it where the original is
    ``masked_only``."""
    data, media_type, rendition = recorded_masked_copy(
        db.session, runtime(), media_id=media_id, scope=current_caller().scope
    )
    response = Response(data, mimetype=media_type)
    name = f"{rendition.sha256[:16]}.{EXTENSIONS[media_type]}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{rendition.sha256}"'
    return response
