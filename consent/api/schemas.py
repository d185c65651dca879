"""Marshmallow pieces shared by the API blueprints."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from consent.verify.query import SHA256

__all__ = ["SHA256", "EnvelopeSchema", "ErrorSchema", "FullMatch"]


class FullMatch(validate.Regexp):
    """A pattern the whole value must match.

    marshmallow's Regexp uses ``re.match``, where ``$`` also matches before a final newline, so
    ``"<64 hex digits>\\n"`` would pass. The pattern itself stays valid for OpenAPI (ECMA).
    """

    def __call__(self, value: Any) -> Any:
        pattern = self.regex
        if not isinstance(value, str) or not isinstance(pattern.pattern, str):
            raise ValidationError(self._format_error(value))
        if re.fullmatch(pattern.pattern, value, pattern.flags) is None:
            raise ValidationError(self._format_error(value))
        return value


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
