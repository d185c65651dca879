"""Errors as HTTP answers, in one place: each kind of ``consent.errors`` error gets its status,
and every error response has one shape, documented in schemas/api/error.schema.json:
``{"code": <HTTP status>, "status": <reason phrase>, "message": <text>, "errors": {...}}``.

Pages people read get an HTML page with the same message. Whatever went wrong, the transaction
is rolled back before answering: bad input changes nothing.
"""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request

from consent import errors
from consent.db import db

log = logging.getLogger("consent.errors")

STATUS: dict[type[errors.ConsentError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.InvalidInput: 422,
    errors.VerificationError: 422,
    errors.TooManyRequests: 429,
    errors.IntegrityFailure: 500,
    errors.ConfigurationError: 500,
    errors.ServiceUnavailable: 503,
}

# Pages people read get an HTML page; everything else (the API, the well-known keys, the
# tablet's status poll) keeps the one JSON shape.
PAGE_PREFIXES = ("/tablet/", "/clinician/", "/admin/", "/v/", "/withdraw")


def status_of(exc: errors.ConsentError) -> int:
    """The HTTP status of a service error: its own kind's, or its nearest parent's."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def error_body(status: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "errors": errors or {},
    }


def respond(status: int, message: str, errors: dict[str, Any] | None = None) -> Response:
    path = request.path if request else ""
    if path.startswith(PAGE_PREFIXES) and not path.endswith("/status"):
        page = render_template("error.html", status=status, message=message)
        return make_response(page, status)
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Map service errors, werkzeug's HTTP errors and anything unexpected to the one shape."""
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(errors.ConsentError)
    def _consent_error(exc: errors.ConsentError) -> Response:
        db.session.rollback()
        status = status_of(exc)
        if status >= 500 and not isinstance(exc, errors.ServiceBusy):
            log.error("service error: %s", type(exc).__name__)
        response = respond(status, exc.message, exc.errors)
        if isinstance(exc, errors.TooManyRequests | errors.ServiceBusy):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        db.session.rollback()
        status = exc.code or 500
        found: dict[str, Any] = {}
        # webargs puts marshmallow's messages on the exception it aborts with.
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and isinstance(data.get("messages"), dict):
            found = data["messages"]
        message = exc.description or HTTPStatus(status).phrase
        if status == 422 and found:
            message = "The request does not follow the schema; see errors."
        elif status == 400 and found:
            message = "The request could not be read; see errors."
        response = respond(status, message, found)
        if status == 405 and exc.response is None:
            for name, value in exc.get_headers():
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        db.session.rollback()
        # Never log the exception's message: a database error quotes the row it failed on.
        where = "".join(traceback.format_tb(exc.__traceback__, limit=-3))
        log.error("unhandled %s\n%s", type(exc).__name__, where)
        return respond(500, "Internal error. The request was not recorded.")
