"""The API's bearer-key check, one decorator per view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from consent.accounts.keys import Caller, authenticate
from consent.db import db
from consent.web.context import settings

F = TypeVar("F", bound=Callable[..., Any])


ANY_VALID_KEY = None
# Reading receipts and log entries: the clinicians who record consents, and the auditors. Not
# publishers: entries link a pseudonymous patient to all of their media, which verify never does.
RECORD_READERS = ("consents:write", "audit")


def require_scope(scope: str | tuple[str, ...] | None) -> Callable[[F], F]:
    """Only callers whose API key holds ``scope`` reach the view; ``g.caller`` names them.

    A tuple admits a key holding any one of the scopes (docs/roles.md says who holds which).
    ``require_scope(ANY_VALID_KEY)`` admits every valid, unexpired key.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            g.caller = authenticate(
                db.session,
                request.headers.get("Authorization"),
                scope=scope,
                cache_seconds=settings().api_key_cache_seconds,
            )
            return view(*args, **kwargs)

        guarded.required_scope = scope  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def current_caller() -> Caller:
    caller: Caller = g.caller
    return caller
