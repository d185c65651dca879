"""The JSON API: one flask-smorest blueprint per resource, marshmallow schemas as the contract,
and the OpenAPI document built from them (schemas/openapi.json)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from consent.api.schemas import ErrorSchema


class ConsentApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, documenting the service's own error shape."""

    ERROR_SCHEMA = ErrorSchema


api = ConsentApi()


def init_app(app: Flask) -> None:
    """Bind the API and register every blueprint (in the order the OpenAPI document lists
    their tags)."""
    from consent.api import (
        consents,
        decisions,
        documents,
        forms,
        interop,
        log,
        media,
        operations,
        paper,
        patients,
        texts,
        verify,
        webhooks,
    )
    from consent.web.extensions import csrf

    # The decision and paper routes are the consents blueprint's.
    assert paper.blp is consents.blp and decisions.blp is consents.blp
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API key."}
    )
    for blueprint in (
        forms.blp,
        patients.blp,
        media.blp,
        consents.blp,
        log.consent_proof_blp,
        documents.blp,
        verify.blp,
        texts.blp,
        log.blp,
        verify.keys_blp,
        webhooks.blp,
        interop.blp,
    ):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer keys, no cookies: nothing for a forged form to ride on
    # /health and /metrics: for operators' tools, outside the API's OpenAPI contract.
    app.register_blueprint(operations.blp)
