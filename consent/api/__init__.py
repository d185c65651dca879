"""The JSON API: one flask-smorest blueprint per resource, marshmallow schemas as the contract,
and the OpenAPI document built from them (schemas/openapi.json)."""

from __future__ import annotations

from flask_smorest import Api

from consent.api.schemas import ErrorSchema


class ConsentApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, documenting the service's own error shape."""

    ERROR_SCHEMA = ErrorSchema


api = ConsentApi()
