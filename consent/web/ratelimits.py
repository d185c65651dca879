"""Rate limits: failed log-ins, withdrawal codes, signing links, the public file check.

Flask-Limiter counts, in memory by default or in Redis when CONSENT_RATELIMIT_STORAGE_URI says
so (then every worker and host shares the counters). Each limit is named here and read from the
configuration on every request, so a deployment (or a test) changes it without a restart.

A limited request gets 429 with Retry-After: the JSON error shape under /api, a plain page in
the person's language elsewhere. ``configured_limits`` and ``hit_limits`` serve callers outside
Flask's request cycle (the verify limit of consent.web.verifylimit), on the same storage, and on
the same counters as a route limited with
``limiter.shared_limit(limit_value(name), scope=name, key_func=...)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_limiter import RateLimitExceeded
from limits import RateLimitItem, parse_many

from consent.settings import Settings
from consent.web import context
from consent.web.extensions import limiter

# Name -> the setting of its "N per minute;M per hour" string.
LIMITS = {
    "login": "CONSENT_RATELIMIT_LOGIN",
    "withdrawal_code": "CONSENT_RATELIMIT_WITHDRAWAL_CODE",
    "signing_link": "CONSENT_RATELIMIT_SIGNING_LINK",
    "file_check": "CONSENT_RATELIMIT_FILE_CHECK",
}


def _spec(settings: Settings, name: str) -> str:
    value: str = getattr(settings, f"ratelimit_{name}")
    return value


def limit_value(name: str) -> Callable[[], str]:
    """The configured limit of ``name``, read per request (for ``limiter.limit``)."""
    if name not in LIMITS:
        raise KeyError(name)
    return lambda: _spec(context.settings(), name)


def configured_limits(app: Flask, name: str) -> list[RateLimitItem]:
    """The limits configured for ``name`` (a key of LIMITS). Raises KeyError for another."""
    if name not in LIMITS:
        raise KeyError(name)
    return list(parse_many(_spec(context.settings(app), name)))


def hit_limits(app: Flask, items: list[RateLimitItem], scope: str, key: str) -> int | None:
    """Count one request of ``key`` against ``items`` under ``scope``, outside a Flask request.

    Returns None when it is allowed (and counted), else the seconds to wait (for Retry-After);
    a refused request is not counted. Uses the app's limiter storage, so the counters are the
    ones Flask's routes use for ``scope`` (shared across workers with a Redis storage).
    Raises what the storage raises when it cannot be reached: the caller decides the fallback.
    """
    strategy = _extension(app).limiter
    # The arguments Flask-Limiter builds for a limit shared under ``scope``
    # (``limiter.shared_limit(limit_value(name), scope=name, key_func=...)``): the same
    # counters, whether a request is counted here or by the route's decorator.
    args = [str(app.config.get("RATELIMIT_KEY_PREFIX") or ""), key, scope]
    if not args[0]:
        args = args[1:]
    for item in items:
        if not strategy.test(item, *args):
            stats = strategy.get_window_stats(item, *args)
            return max(1, math.ceil(float(stats.reset_time) - time.time()))
    for item in items:
        strategy.hit(item, *args)
    return None


def reset(app: Flask) -> None:
    """Forget every counter (tests; an operator after a false alarm)."""
    _extension(app).reset()


def _extension(app: Flask) -> Any:
    found = app.extensions.get("limiter")
    if not found or limiter not in found:
        raise RuntimeError("The rate limiter is not bound to this app.")
    return limiter


def refused(response: Response) -> bool:
    """Count only failures (4xx): people who get in are not slowed by their own success."""
    return 400 <= response.status_code < 500


def init_app(app: Flask, settings: Settings) -> None:
    """Bind Flask-Limiter to the configured storage (app.config, from the settings; a limit
    that does not parse already stopped the start), and answer 429s in the service's shapes."""
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many_requests)


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request lets it through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def too_many_requests(exc: RateLimitExceeded) -> Response:
    from flask_babel import ngettext

    from consent.web import metrics
    from consent.web.errors import respond

    metrics.refused(request.endpoint or "unknown")
    seconds = retry_after_seconds()
    if request.path.startswith("/api/"):
        message = f"Too many requests; try again in {seconds} seconds."
    else:
        minutes = max(1, math.ceil(seconds / 60))
        message = ngettext(
            "Too many tries. To protect your data, please wait %(num)s minute, then try again.",
            "Too many tries. To protect your data, please wait %(num)s minutes, then try again.",
            minutes,
        )
    response = respond(429, message)
    response.headers["Retry-After"] = str(seconds)
    return response
