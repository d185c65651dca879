"""GET /api/v1/verify answered in front of Flask's dispatch: the hot path of every publishing tool.

Flask's request handling (request and session objects, URL matching, hooks, response object)
costs about as much as the whole verify decision. This WSGI layer answers the one request shape
publishing tools send thousands of times (GET, plain query, Bearer key) with the same functions
the Flask route calls (``parse_hash_query``, ``decide``; for the key, the same per-worker cache
that ``authenticate`` fills) and the same headers, without pushing an app context.

Anything else goes to Flask untouched: other paths and methods, a query it would have to decode
(percent escapes, ``+``, repeated names), and every failure. A failure is answered by Flask's
route, which runs the same check again and raises the same error, so errors keep one shape and
one code path. The cost is a second run of a check that already failed: cheap, and rare.

Flask's before/after-request hooks do not run here. ``tests/verify/test_fastpath.py`` holds the
list of hooks this layer is known to make unnecessary; a new hook fails that test until this
layer does what the hook does (a rate limit, a header, a log line) and the list is updated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from consent.accounts.keys import recent_caller
from consent.crypto.keyring import Keyring
from consent.db import db
from consent.verify.query import parse_hash_query
from consent.verify.service import decide
from consent.web import verifylimit as ratelimit
from consent.web.keywatch import current_keyring
from consent.web.metrics import ROUTE

PATH = "/api/v1/verify"
# name=value pairs whose values need no decoding; anything else is Flask's to parse.
_PLAIN_QUERY = re.compile(r"[a-z0-9_]+=[A-Za-z0-9._-]*(?:&[a-z0-9_]+=[A-Za-z0-9._-]*)*")
# The headers Flask's route sends with an answer (Vary: the session machinery reads the session
# on every request, so every Flask response varies on Cookie).
_ANSWER_HEADERS = (("Content-Type", "application/json"), ("Vary", "Cookie"))

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _plain_query(query_string: str) -> dict[str, str] | None:
    """The query as Flask's ``request.args.get`` would read it, or None to let Flask parse it."""
    if not _PLAIN_QUERY.fullmatch(query_string):
        return None
    pairs = [pair.split("=", 1) for pair in query_string.split("&")]
    args = dict(pairs)
    if len(args) != len(pairs):
        return None  # a repeated name: Flask's first-value rule applies
    return args


class VerifyFastPath:
    """WSGI middleware around ``app.wsgi_app``; ``flask_wsgi_app`` is the Flask path itself."""

    def __init__(self, app: Flask, flask_wsgi_app: WSGIApp) -> None:
        self.app = app
        self.flask_wsgi_app = flask_wsgi_app
        self._engine: Engine | None = None

    def _resources(self) -> tuple[Engine, Keyring]:
        # The app's engine, looked up once: pushing an app context per request would cost more
        # than the SQL. The keyring through the key-file watch, so that a rotation is followed.
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine, current_keyring(self.app)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.flask_wsgi_app(environ, start_response)
        body = self._answer(environ)
        if body is None:
            return self.flask_wsgi_app(environ, start_response)
        environ[ROUTE] = PATH
        start_response("200 OK", [*_ANSWER_HEADERS, ("Content-Length", str(len(body)))])
        return [body]

    def _answer(self, environ: dict[str, Any]) -> bytes | None:
        args = _plain_query(environ.get("QUERY_STRING", ""))
        if args is None:
            return None
        # A key not seen in the last few seconds is looked up by Flask's route, which remembers
        # it for the next calls; so is every key that would be refused.
        caller = recent_caller(environ.get("HTTP_AUTHORIZATION"), scope="verify")
        if caller is None:
            return None
        # Counted here, once; over the limit, Flask's route answers the 429 from the mark.
        wait = self.app.extensions[ratelimit.EXTENSION].count(caller.api_key_id)
        environ[ratelimit.COUNTED] = wait
        if wait is not None:
            return None
        engine, keyring = self._resources()
        try:
            query = parse_hash_query(args)
            signed = decide(
                sha256=query["sha256"],
                purpose=query["purpose"],
                channel=query.get("channel"),
                engine=engine,
                keyring=keyring,
            )
        except Exception:  # Flask's route answers every failure (see above).
            return None
        return signed.envelope_json
