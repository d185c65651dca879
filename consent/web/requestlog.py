"""Structured JSON logs: one line per request, every line tagged with its request id.

The request log is a WSGI layer around everything (the verify fast path included), so no request
escapes it. What it writes is chosen to hold no identity and no secret:
- the path without its query string, with the signing-link token replaced by ``…``;
- the method, the status and the duration;
- the request id: the caller's ``X-Request-ID`` when it is a short plain token, else a new one,
  sent back in the response's ``X-Request-ID`` header so that a hospital's support desk can find
  the line a user's failed call wrote.

Application messages (``logging.getLogger("consent....")``) go through the same JSON formatter
and carry the request id of the request that wrote them. Messages must never quote a patient's
data or an exception's text (a database error quotes the row): see consent/errors.py.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Path segments that are secrets: the single-use signing link handed to the tablet, and the
# link of an account invitation.
_SECRET_SEGMENTS = (re.compile(r"^(/tablet/s/)[^/]+"), re.compile(r"^(/account/invitation/)[^/]+"))

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

access_log = logging.getLogger("consent.request")


def loggable_path(path: str) -> str:
    if path.startswith(("/tablet/s/", "/account/invitation/")):  # checked before the regexes
        for pattern in _SECRET_SEGMENTS:
            path = pattern.sub(r"\1…", path)
    return path[:300]


class _RequestIds:
    """Request ids: a random prefix per worker process and a counter. Unique across workers
    and restarts (96 random bits), and a tenth of the cost of a uuid4 on every request."""

    def __init__(self) -> None:
        self._new_process()
        os.register_at_fork(after_in_child=self._new_process)

    def _new_process(self) -> None:
        self.prefix = secrets.token_hex(12)
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):08x}"


_request_ids = _RequestIds()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text may quote stored data.
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the ``consent`` loggers (idempotent: one handler, ever)."""
    logger = logging.getLogger("consent")
    logger.setLevel(level.upper())
    # The logging HOWTO's optimisation for a field these JSON lines never print (the caller's
    # file and line): a stack walk on every request. Not its other switches: they are global to
    # the process, and gunicorn's own format prints %(process)d (and formats of other libraries
    # may print %(thread)d); with those fields None, every such message failed with
    # "--- Logging error ---" (issue 17). Reading the process and thread ids costs little.
    logging._srcfile = None
    if not any(getattr(handler, "_consent_json", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._consent_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


class RequestLog:
    """WSGI middleware: a request id for each request, and one log line when it is answered."""

    def __init__(self, wsgi_app: WSGIApp) -> None:
        # Imported here, not at the top: gunicorn's master imports this module for its log
        # formatter (deploy/gunicorn.conf.py) and must not load the metrics, which only workers
        # write.
        from consent.web.metrics import observe_request

        self.wsgi_app = wsgi_app
        self.observe = observe_request

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else _request_ids.next()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        answered: list[str] = []

        def start_with_id(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            answered.append(status)
            return start_response(status, [*headers, ("X-Request-ID", request_id)], *args)

        try:
            return self.wsgi_app(environ, start_with_id)
        finally:
            # Logged and counted when the app hands its body over (streamed bodies finish later).
            seconds = time.perf_counter() - started
            status = int(answered[0][:3]) if answered else 500
            self.observe(environ, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": environ.get("REQUEST_METHOD"),
                            "path": loggable_path(environ.get("PATH_INFO", "")),
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                        }
                    },
                )
            request_id_var.reset(token)
