"""GET/POST /api/v1/verify and the public keys at /.well-known/consent-keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from consent.api.schemas import SHA256, AnswerEnvelopeSchema, ErrorSchema, FullMatch
from consent.consents.uses import CHANNEL, PURPOSES
from consent.errors import InvalidInput
from consent.media.fingerprints import fingerprint
from consent.verify.public import published_keys
from consent.verify.service import decide
from consent.web import verifylimit as ratelimit
from consent.web.auth import current_caller, require_scope
from consent.web.guards import accepts_multipart

blp = Blueprint("verify", __name__, url_prefix="/api/v1/verify", description="Verify")
keys_blp = Blueprint("keys", __name__, url_prefix="/.well-known", description="Public keys")


MISSING = "Missing data for required field."
SHA256_ERROR = "64 lower-case hex digits."
CHANNEL_ERROR = "A lower-case channel name."
PURPOSE_ERROR = f"Must be one of: {', '.join(PURPOSES)}."


class UseQuery(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES, error=PURPOSE_ERROR))
    channel = fields.String(validate=FullMatch(CHANNEL, error=CHANNEL_ERROR))


class HashQuery(UseQuery):
    sha256 = fields.String(required=True, validate=FullMatch(SHA256, error=SHA256_ERROR))


class VerifyFile(Schema):
    file = Upload(required=True)


_SHA256 = re.compile(SHA256)
_PURPOSES = frozenset(PURPOSES)
# HashQuery, as OpenAPI parameters: the view parses the query itself (parse_hash_query) since it
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


def parse_hash_query(args: Mapping[str, str]) -> dict[str, str]:
    """The verify query, validated as HashQuery would. Raises InvalidInput with the same errors."""
    errors: dict[str, list[str]] = {}
    sha256, purpose, channel = args.get("sha256"), args.get("purpose"), args.get("channel")
    if sha256 is None:
        errors["sha256"] = [MISSING]
    elif not _SHA256.fullmatch(sha256):
        errors["sha256"] = [SHA256_ERROR]
    if purpose is None:
        errors["purpose"] = [MISSING]
    elif purpose not in _PURPOSES:
        errors["purpose"] = [PURPOSE_ERROR]
    if channel is not None and not CHANNEL.fullmatch(channel):
        errors["channel"] = [CHANNEL_ERROR]
    if errors:
        raise InvalidInput(
            "The request does not follow the schema; see errors.", errors={"query": errors}
        )
    query = {"sha256": sha256, "purpose": purpose}
    if channel is not None:
        query["channel"] = channel
    return query  # type: ignore[return-value]


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
    signed = decide(sha256=query["sha256"], purpose=query["purpose"], channel=query.get("channel"))
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
    return published_keys()
