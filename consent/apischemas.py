"""Marshmallow pieces shared by the API blueprints."""

from __future__ import annotations

from marshmallow import Schema, fields

SHA256 = r"^[0-9a-f]{64}$"


class ErrorSchema(Schema):
    """The one error shape (consent.errors)."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(required=True)


class EnvelopeSchema(Schema):
    """A signed envelope: the body, an Ed25519 signature over its RFC 8785 bytes, the key id."""

    receipt = fields.Dict()
    signature = fields.String(required=True)
    key_id = fields.String(required=True)


class AnswerEnvelopeSchema(Schema):
    answer = fields.Dict(required=True)
    signature = fields.String(required=True)
    key_id = fields.String(required=True)
