"""Cookie sessions opened only when the request carries one.

The JSON API never uses cookies; building the signing serializer for every API call would cost
time on the verify hot path for nothing. Behaviour is otherwise Flask's own.
"""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # The raw header first: parsing cookies is wasted on the API, which never sends any.
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # An empty, unmodified session (every API call) sets no cookie: Flask's own method
        # would come to the same result after computing every cookie attribute first.
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
