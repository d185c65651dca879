"""Webhook endpoints over JSON: register, list, look at deliveries, delete.

Every call needs a key of an administrator's account with the ``webhooks:manage`` scope
(docs/roles.md): an endpoint receives every event of the team, and the service connects to it
from inside the hospital's network. A key sees its own team's endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from consent.accounts.journal import record_admin_action
from consent.db import db
from consent.errors import Forbidden
from consent.web.auth import current_caller, require_scope
from consent.web.context import runtime
from consent.web.guards import accepts_json
from consent.webhooks import service
from consent.webhooks.models import EVENTS, MAX_URL_LENGTH
from consent.webhooks.sender import ERROR_CATEGORIES

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description="Webhooks")

SCOPE = "webhooks:manage"
# Deliveries listed for one endpoint, newest first.
RECENT_DELIVERIES = 50

F = TypeVar("F", bound=Callable[..., Any])


def admin_only(view: F) -> F:
    """Refuse (403) a key whose account is not an administrator's, before reading the body."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_caller().is_admin:
            raise Forbidden("Only an administrator's key manages webhook endpoints.")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


class EndpointIn(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_URL_LENGTH),
        metadata={"description": "https URL that receives the events (POST, JSON)."},
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENTS)),
    )


class EndpointOut(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    created_at = fields.AwareDateTime(required=True, format="iso")


class RegisteredOut(EndpointOut):
    secret = fields.String(
        required=True,
        metadata={
            "description": "The signing secret (whsec_..., Standard Webhooks). Shown once: "
            "check each delivery's webhook-signature with it."
        },
    )


class AttemptOut(Schema):
    number = fields.Integer(required=True)
    attempted_at = fields.AwareDateTime(required=True, format="iso")
    duration_ms = fields.Integer(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    error = fields.String(
        allow_none=True,
        metadata={
            "description": "Why the attempt failed, when no HTTP status came back: one of "
            + ", ".join(ERROR_CATEGORIES)
            + "."
        },
    )


class DeliveryOut(Schema):
    id = fields.String(required=True, metadata={"description": "The webhook-id header."})
    event_type = fields.String(required=True)
    state = fields.String(required=True)
    attempts = fields.List(fields.Nested(AttemptOut), required=True)
    next_attempt_at = fields.AwareDateTime(
        allow_none=True, format="iso", metadata={"description": "When pending."}
    )
    created_at = fields.AwareDateTime(required=True, format="iso")
    finished_at = fields.AwareDateTime(allow_none=True, format="iso")


def _attempt(attempt: Any) -> dict[str, Any]:
    error = attempt.error
    # Attempts recorded before errors were categories hold the raw message: never shown.
    if error is not None and error not in ERROR_CATEGORIES:
        error = "network"
    return {
        "number": attempt.number,
        "attempted_at": attempt.attempted_at,
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": error,
    }


def _endpoint(endpoint: Any) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.event_list,
        "created_at": endpoint.created_at,
    }


@blp.route("", methods=["POST"])
@require_scope(SCOPE)
@admin_only
@accepts_json
@blp.arguments(EndpointIn())
@blp.response(201, RegisteredOut)
def register(payload: dict[str, Any]) -> dict[str, Any]:
    """Register an endpoint for some events; the answer carries its signing secret, once."""
    rt = runtime()
    registered = service.register_endpoint(
        db.session,
        rt.vault,
        url=payload["url"],
        events=payload["events"],
        caller=current_caller(),
        allow_http=rt.settings.webhooks_allow_http,
        allowed_networks=rt.settings.webhooks_allow_networks,
    )
    _journal("webhook_endpoint.registered", registered.record.id)
    db.session.commit()
    return {**_endpoint(registered.record), "secret": registered.secret}


@blp.route("", methods=["GET"])
@require_scope(SCOPE)
@admin_only
@blp.response(200, EndpointOut(many=True))
def list_endpoints() -> list[dict[str, Any]]:
    """The endpoints of this key's owner (all of them for an admin's key); no secrets."""
    return [
        _endpoint(endpoint) for endpoint in service.list_endpoints(db.session, current_caller())
    ]


@blp.route("/<endpoint_id>/deliveries", methods=["GET"])
@require_scope(SCOPE)
@admin_only
@blp.response(200, DeliveryOut(many=True))
def deliveries(endpoint_id: str) -> list[dict[str, Any]]:
    """The endpoint's latest deliveries, each with every attempt made."""
    endpoint = service.get_endpoint(db.session, endpoint_id, current_caller())
    rows = service.recent_deliveries(db.session, endpoint, limit=RECENT_DELIVERIES)
    return [
        {
            "id": row.id,
            "event_type": row.event_type,
            "state": row.state,
            "attempts": [_attempt(attempt) for attempt in attempts],
            "next_attempt_at": row.next_attempt_at if row.state == "pending" else None,
            "created_at": row.created_at,
            "finished_at": row.finished_at,
        }
        for row, attempts in rows
    ]


@blp.route("/<endpoint_id>", methods=["DELETE"])
@require_scope(SCOPE)
@admin_only
@blp.response(204)
def delete(endpoint_id: str) -> None:
    """Delete an endpoint: nothing more is sent to it, and its secret is forgotten."""
    service.delete_endpoint(db.session, endpoint_id, current_caller())
    _journal("webhook_endpoint.deleted", endpoint_id)
    db.session.commit()


def _journal(action: str, object_id: str) -> None:
    # admin_only: the caller is an administrator's account, never an integration.
    account_id = current_caller().account_id
    if account_id is None:
        raise Forbidden("Only an administrator's key manages webhook endpoints.")
    record_admin_action(db.session, account_id=account_id, action=action, object_id=object_id)
