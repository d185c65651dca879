"""One exception tree for the service. It says what failed in the domain and knows nothing of
HTTP: the web layer maps each kind to a status code, in one place (consent.web.errors).

Messages are shown to the caller as they are; they never quote stored data or a patient's
identity.
"""

from __future__ import annotations

from typing import Any


class ConsentError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, message: str, *, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class BadRequest(ConsentError):
    """The input cannot be read at all (a missing or unknown query value)."""


class Unauthorized(ConsentError):
    """The caller is not known: no key, an unknown, expired or revoked one."""


class Forbidden(ConsentError):
    """The caller is known but may not do this."""


class NotFound(ConsentError):
    """No such thing (or none the caller may know of)."""


class Conflict(ConsentError):
    """The thing exists in a state that does not allow this (already decided, say)."""


class Gone(ConsentError):
    """It existed and was destroyed or spent (an erased patient, a used link)."""


class PayloadTooLarge(ConsentError):
    """The input is larger than the service accepts."""


class TooManyRequests(ConsentError):
    """A rate limit was reached; ``retry_after`` seconds until the caller may try again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedMediaType(ConsentError):
    """The input is of a kind the service does not take."""


class InvalidInput(ConsentError):
    """The input parsed but breaks a rule of the domain."""


class VerificationError(ConsentError):
    """A signature, key, envelope or proof failed to verify. Never means "allowed"."""


class IntegrityFailure(ConsentError):
    """Something stored by the service no longer verifies: evidence of tampering or corruption."""


class StoredFileMissing(IntegrityFailure):
    """A file the database names is not in the media store (restored without its media, or the
    shared directory not mounted). Operators restore it; no answer is made up without it."""


class ServiceUnavailable(ConsentError):
    """Something the service needs to answer (its database) cannot be reached just now."""


class ServiceBusy(ServiceUnavailable):
    """The service is at a limit of work done at once; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(ConsentError):
    """The instance is missing a key or setting it cannot run without."""


class SignOnRefused(Forbidden):
    """The hospital's sign-on did not prove who this is, or gave them no team or role here:
    a bad or replayed ID token, a state or nonce that does not match, a group mapped to
    nothing, a disabled account."""
