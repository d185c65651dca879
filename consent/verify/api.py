"""GET/POST /api/v1/verify and the public keys at /.well-known/consent-keys."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from consent.accounts.auth import require_scope
from consent.apischemas import SHA256, AnswerEnvelopeSchema
from consent.consents.uses import CHANNEL, PURPOSES
from consent.http import accepts_multipart
from consent.media.fingerprints import fingerprint
from consent.runtime import runtime
from consent.verify.service import decide

blp = Blueprint("verify", __name__, url_prefix="/api/v1/verify", description="Verify")
keys_blp = Blueprint("keys", __name__, url_prefix="/.well-known", description="Public keys")


class UseQuery(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    channel = fields.String(validate=validate.Regexp(CHANNEL, error="A lower-case channel name."))


class HashQuery(UseQuery):
    sha256 = fields.String(
        required=True, validate=validate.Regexp(SHA256, error="64 lower-case hex digits.")
    )


class VerifyFile(Schema):
    file = Upload(required=True)


@blp.route("", methods=["GET"])
@require_scope("verify")
@blp.arguments(HashQuery(), location="query")
@blp.response(200, AnswerEnvelopeSchema)
def verify_hash(query: dict[str, Any]) -> Response:
    """May the file with this SHA-256 be published for this purpose and channel? Signed."""
    # The envelope is serialised as is: the signature covers it, and re-dumping it through
    # the response schema on this hot path would only cost time (its shape is tested).
    signed = decide(sha256=query["sha256"], purpose=query["purpose"], channel=query.get("channel"))
    return Response(signed.envelope_json, mimetype="application/json")


@blp.route("", methods=["POST"])
@require_scope("verify")
@accepts_multipart
@blp.arguments(UseQuery(), location="form")
@blp.arguments(VerifyFile(), location="files")
@blp.response(200, AnswerEnvelopeSchema)
def verify_upload(form: dict[str, Any], files: dict[str, Any]) -> Response:
    """The same question for an uploaded file; a re-encoded image matches perceptually."""
    config = current_app.config
    print_ = fingerprint(
        files["file"].stream,
        limit=config["CONSENT_MAX_MEDIA_BYTES"],
        max_pixels=config["CONSENT_MAX_IMAGE_PIXELS"],
    )
    signed = decide(
        sha256=print_.sha256,
        purpose=form["purpose"],
        channel=form.get("channel"),
        phash=print_.phash,
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
    return {
        "keys": [
            {
                "key_id": key.key_id,
                "algorithm": "Ed25519",
                "public_key": base64.b64encode(key.public_bytes).decode(),
                "vkey": key.vkey,
                "status": key.status,
            }
            for key in runtime().keyring.public_keys()
        ]
    }
