"""GET/POST /api/v1/verify and the public keys at /.well-known/consent-keys."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from consent.api.schemas import AnswerEnvelopeSchema, ErrorSchema, FullMatch
from consent.consents.uses import CHANNEL, PURPOSES
from consent.db import db
from consent.media.fingerprints import fingerprint
from consent.verify.public import published_keys
from consent.verify.query import CHANNEL_ERROR, PURPOSE_ERROR, SHA256, parse_hash_query
from consent.verify.service import decide
from consent.web import verifylimit as ratelimit
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_multipart

blp = Blueprint("verify", __name__, url_prefix="/api/v1/verify", description="Verify")
keys_blp = Blueprint("keys", __name__, url_prefix="/.well-known", description="Public keys")


class UseQuery(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES, error=PURPOSE_ERROR))
    channel = fields.String(validate=FullMatch(CHANNEL, error=CHANNEL_ERROR))


class VerifyFile(Schema):
    file = Upload(required=True)


# The verify query, as OpenAPI parameters: the view parses it itself (parse_hash_query) since it
# is the hot path of every publishing tool; a test holds the two to the same answers.
HASH_QUERY_PARAMETERS = [
    {
        "in": "query",
        "name": "sha256",
        "required": True,
        "schema": {"type": "string", "pattern": SHA256},
        "description": "SHA-256 of the file's bytes, 64 lower-case hex digits.",
    },
    {
        "in": "query",
        "name": "purpose",
        "required": True,
        "schema": {"type": "string", "enum": list(PURPOSES)},
    },
    {
        "in": "query",
        "name": "channel",
        "required": False,
        "schema": {"type": "string", "pattern": CHANNEL.pattern},
        "description": "Where the file will be posted (linkedin, x ...).",
    },
]


@blp.route("", methods=["GET"])
@require_scope("verify")
@blp.doc(parameters=HASH_QUERY_PARAMETERS)
@blp.alt_response(422, schema=ErrorSchema, description="The query is not valid.")
@blp.alt_response(429, schema=ErrorSchema, description="Too many calls with this key.")
@blp.response(200, AnswerEnvelopeSchema)
def verify_hash() -> Response:
    """May the file with this SHA-256 be published for this purpose and channel? Signed."""
    ratelimit.enforce(current_caller())
    query = parse_hash_query(request.args)
    # The envelope is serialised as is: the signature covers it, and re-dumping it through
    # the response schema on this hot path would only cost time (its shape is tested).
    signed = decide(
        sha256=query["sha256"],
        purpose=query["purpose"],
        channel=query.get("channel"),
        engine=db.engine,
        keyring=runtime().keyring,
    )
    return Response(signed.envelope_json, mimetype="application/json")


@blp.route("", methods=["POST"])
@require_scope("verify")
@accepts_multipart
@blp.arguments(UseQuery(), location="form")
@blp.arguments(VerifyFile(), location="files")
@blp.alt_response(429, schema=ErrorSchema, description="Too many calls with this key.")
@blp.response(200, AnswerEnvelopeSchema)
def verify_upload(form: dict[str, Any], files: dict[str, Any]) -> Response:
    """The same question for an uploaded file; a re-encoded image matches perceptually."""
    ratelimit.enforce(current_caller())
    rt = runtime()
    settings = rt.settings
    print_ = fingerprint(
        files["file"].stream,
        limit=settings.max_media_bytes,
        max_pixels=settings.max_image_pixels,
        max_decoded_pixels=settings.max_check_pixels,
    )
    signed = decide(
        sha256=print_.sha256,
        purpose=form["purpose"],
        channel=form.get("channel"),
        engine=db.engine,
        keyring=rt.keyring,
        phash=print_.phash,
        max_distance=settings.phash_max_distance,
    )
    return Response(signed.envelope_json, mimetype="application/json")


class PublicKeyOut(Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True)
    public_key = fields.String(required=True)
    vkey = fields.String(required=True)
    status = fields.String(required=True)


class KeysOut(Schema):
    keys = fields.List(fields.Nested(PublicKeyOut), required=True)


@keys_blp.route("/consent-keys", methods=["GET"])
@keys_blp.doc(security=[])
@keys_blp.response(200, KeysOut)
def public_keys() -> dict[str, Any]:
    """The service's Ed25519 public keys, active and retired: anyone may check signatures."""
    return published_keys(runtime().keyring)
