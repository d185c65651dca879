"""Cookie sessions: sealed, and opened only when the request carries one.

The session cookie is encrypted and authenticated (XSalsa20-Poly1305, a key derived from the
secret key), not only signed: a tablet's cookie holds the patient's choices and a
representative's name until the submission, and a signed cookie is readable by whoever holds the
tablet. Nothing in any cookie the service sets can be read without the secret key.

The JSON API never uses cookies; building the serializer for every API call would cost time on
the verify hot path for nothing. Behaviour is otherwise Flask's own.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import nacl.exceptions
import nacl.secret
from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer

# Domain separation: the session's encryption key is not the key that signs anything else.
_KEY_CONTEXT = b"consent-service session cookie encryption v1"


class SealedSerializer:
    """Flask's signed serializer, its output then encrypted: ``loads`` raises BadSignature for
    anything that does not open (tampered, another key, not ours)."""

    def __init__(self, signed: URLSafeTimedSerializer, secret_key: str | bytes) -> None:
        self.signed = signed
        raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
        key = hashlib.blake2b(raw, key=_KEY_CONTEXT, digest_size=nacl.secret.SecretBox.KEY_SIZE)
        self.box = nacl.secret.SecretBox(key.digest())

    def dumps(self, obj: Any) -> str:
        signed = self.signed.dumps(obj)
        sealed = self.box.encrypt(signed.encode() if isinstance(signed, str) else signed)
        return base64.urlsafe_b64encode(bytes(sealed)).decode().rstrip("=")

    def loads(self, value: str | bytes, max_age: int | None = None) -> Any:
        text = value.decode() if isinstance(value, bytes) else value
        try:
            sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            signed = self.box.decrypt(sealed)
        except (ValueError, nacl.exceptions.CryptoError) as exc:
            raise BadSignature("The session cookie does not open.") from exc
        return self.signed.loads(signed, max_age=max_age)


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> Any:
        signed = super().get_signing_serializer(app)
        if signed is None:  # no secret key (create_app refuses to start without one)
            return None
        return SealedSerializer(signed, app.secret_key or "")

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
