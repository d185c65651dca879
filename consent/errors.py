"""One exception tree for the service, mapped to HTTP in one place (``register_error_handlers``).

Every error response has one shape, documented in schemas/api/error.schema.json:
``{"code": <HTTP status>, "status": <reason phrase>, "message": <text>, "errors": {...}}``.
"""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask stays out of the import path of the Flask-free crypto core.
    from flask import Flask, Response

log = logging.getLogger(__name__)


class ConsentError(Exception):
    """Base of every error the service raises on purpose."""

    status: int = 500

    def __init__(self, message: str, *, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class BadRequest(ConsentError):
    status = 400


class Unauthorized(ConsentError):
    status = 401


class Forbidden(ConsentError):
    status = 403


class NotFound(ConsentError):
    status = 404


class Conflict(ConsentError):
    status = 409


class Gone(ConsentError):
    status = 410


class PayloadTooLarge(ConsentError):
    status = 413


class TooManyRequests(ConsentError):
    """A rate limit was reached; ``retry_after`` seconds until the caller may try again."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedMediaType(ConsentError):
    status = 415


class InvalidInput(ConsentError):
    """The input parsed but breaks a rule of the domain."""

    status = 422


class VerificationError(ConsentError):
    """A signature, key, envelope or proof failed to verify. Never means "allowed"."""

    status = 422


class IntegrityFailure(ConsentError):
    """Something stored by the service no longer verifies: evidence of tampering or corruption."""

    status = 500


class ConfigurationError(ConsentError):
    """The instance is missing a key or setting it cannot run without."""


def error_body(status: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "errors": errors or {},
    }


# Pages people read get an HTML page; everything else (the API, the well-known keys, the
# tablet's status poll) keeps the one JSON shape.
PAGE_PREFIXES = ("/tablet/", "/clinician/", "/v/", "/withdraw")


def respond(status: int, message: str, errors: dict[str, Any] | None = None) -> Response:
    from flask import jsonify, render_template, request

    path = request.path if request else ""
    if path.startswith(PAGE_PREFIXES) and not path.endswith("/status"):
        from flask import make_response

        page = render_template("error.html", status=status, message=message)
        return make_response(page, status)
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Map ConsentError, werkzeug's HTTP errors and anything unexpected to the one error shape."""
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(ConsentError)
    def _consent_error(exc: ConsentError) -> Response:
        if exc.status >= 500:
            log.error("service error: %s", type(exc).__name__)
        response = respond(exc.status, exc.message, exc.errors)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        errors: dict[str, Any] = {}
        # webargs puts marshmallow's messages on the exception it aborts with.
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and isinstance(data.get("messages"), dict):
            errors = data["messages"]
        message = exc.description or HTTPStatus(status).phrase
        if status == 422 and errors:
            message = "The request does not follow the schema; see errors."
        elif status == 400 and errors:
            message = "The request could not be read; see errors."
        response = respond(status, message, errors)
        if status == 405 and exc.response is None:
            allow = exc.get_headers()
            for name, value in allow:
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Never log the exception's message: a database error quotes the row it failed on.
        where = "".join(traceback.format_tb(exc.__traceback__, limit=-3))
        log.error("unhandled %s\n%s", type(exc).__name__, where)
        return respond(500, "Internal error. The request was not recorded.")
