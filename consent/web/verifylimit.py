"""Verify calls counted per API key: a publishing tool stuck in a loop gets 429 with
Retry-After instead of taking every worker from the others.

One mechanism with the other limits (consent.web.ratelimits): with a shared store (Redis,
CONSENT_RATELIMIT_STORAGE_URI) the counts go through Flask-Limiter's own storage and strategy,
called directly because the verify fast path answers outside Flask's request cycle. With the
default memory storage they are kept by a fixed window of our own, the same rule in 1 µs a call
where the ``limits`` memory store took 9 µs (every verify call pays it). A call is counted once:
the fast path marks the WSGI environ when it has counted, and the Flask route, which answers
whatever the fast path hands over, reads the mark instead of counting again.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many

from consent.accounts.keys import Caller
from consent.errors import TooManyRequests
from consent.settings import Settings
from consent.web import metrics, ratelimits

log = logging.getLogger(__name__)

EXTENSION = "consent.verify_limit"
# Set in the environ by the fast path: None when the call was within the limit, else the
# seconds to wait.
COUNTED = "consent.verify_counted"
# While the shared store is down, one warning per worker this often (with the calls counted in
# memory since the last one), not one per verify call: a line per call would flood the logs.
FALLBACK_LOG_SECONDS = 60.0


class VerifyLimit:
    """Fixed windows per API key: in this worker's memory, or in ``shared``'s limiter storage.

    While the shared store cannot be reached, calls are counted in memory: a Redis outage must
    not turn every verify call into an error.
    """

    SCOPE = "verify"

    def __init__(self, spec: str | None, shared: Flask | None = None) -> None:
        self.items: list[RateLimitItem] = parse_many(spec) if spec else []
        self.shared = shared
        self._windows: dict[tuple[int, str], list[float]] = {}
        self._lock = threading.Lock()
        self._fallback_calls = 0
        self._fallback_logged_at: float | None = None

    def count(self, api_key_id: int) -> int | None:
        """Count one call; None while within the limit, else the seconds until it resets."""
        key = str(api_key_id)
        if self.shared is not None:
            try:
                return ratelimits.hit_limits(self.shared, self.items, self.SCOPE, key)
            except Exception:  # the store is down: count in this worker's memory
                self._fell_back()
        for number, item in enumerate(self.items):
            wait = self._memory_hit(number, item, key)
            if wait is not None:
                return wait
        return None

    def _fell_back(self) -> None:
        metrics.RATELIMIT_STORE_FALLBACK.inc()
        now = time.monotonic()
        with self._lock:
            self._fallback_calls += 1
            last = self._fallback_logged_at
            if last is not None and now - last < FALLBACK_LOG_SECONDS:
                return
            calls, self._fallback_calls, self._fallback_logged_at = self._fallback_calls, 0, now
        log.warning(
            "rate-limit store unreachable; counting verify calls in memory",
            extra={"fields": {"calls_in_memory": calls}},
        )

    def _memory_hit(self, number: int, item: RateLimitItem, key: str) -> int | None:
        now = time.time()
        seconds = item.get_expiry()
        start = now - now % seconds
        with self._lock:
            window = self._windows.get((number, key))
            if window is None or window[0] != start:
                window = self._windows[(number, key)] = [start, 0]
            window[1] += 1
            over = window[1] > item.amount
        return max(1, math.ceil(start + seconds - now)) if over else None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
        if self.shared is not None:
            ratelimits.reset(self.shared)


def init_verify_limit(app: Flask, settings: Settings) -> None:
    """After Flask-Limiter is bound (consent.web.ratelimits.init_app): a shared store is its."""
    shared = not settings.ratelimit_storage_uri.startswith("memory://")
    app.extensions[EXTENSION] = VerifyLimit(settings.ratelimit_verify, app if shared else None)


def enforce(caller: Caller) -> None:
    """In the Flask route: raise TooManyRequests when the caller's key is over its limit."""
    if COUNTED in request.environ:
        wait = request.environ[COUNTED]
    else:
        wait = current_app.extensions[EXTENSION].count(caller.api_key_id)
    if wait is not None:
        metrics.refused("verify")
        raise TooManyRequests(
            f"This API key made too many verify calls; try again in {wait} seconds.",
            retry_after=wait,
        )
