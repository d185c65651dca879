"""Verify calls counted per API key: a publishing tool stuck in a loop gets 429 with
Retry-After instead of taking every worker from the others.

The count is kept with the ``limits`` library (Flask-Limiter's own), called directly because
the verify fast path answers outside Flask's request cycle. A call is counted once: the fast
path marks the WSGI environ when it has counted, and the Flask route, which answers whatever
the fast path hands over, reads the mark instead of counting again.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from consent.accounts.service import Caller
from consent.errors import TooManyRequests

log = logging.getLogger(__name__)

EXTENSION = "consent.verify_limit"
# Set in the environ by the fast path: None when the call was within the limit, else the
# seconds to wait.
COUNTED = "consent.verify_counted"


class VerifyLimit:
    """Fixed windows per API key: in this worker's memory, or in a shared ``limits`` store.

    The memory counter is our own: the verify fast path pays for it on every call, and the
    ``limits`` memory store (locks, expiry timers, key strings) cost 9 µs a call against 1 µs
    here. A shared store (Redis) goes through ``limits``; while it cannot be reached, calls
    are counted in memory: a Redis outage must not turn every verify call into an error.
    """

    def __init__(self, spec: str | None, storage_uri: str) -> None:
        self.items: list[RateLimitItem] = parse_many(spec) if spec else []
        self.shared: FixedWindowRateLimiter | None = None
        if not storage_uri.startswith("memory://"):
            self.shared = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._windows: dict[tuple[int, str], list[float]] = {}
        self._lock = threading.Lock()

    def count(self, api_key_id: int) -> int | None:
        """Count one call; None while within the limit, else the seconds until it resets."""
        key = str(api_key_id)
        for number, item in enumerate(self.items):
            wait = None
            if self.shared is not None:
                try:
                    wait = self._shared_hit(self.shared, item, key)
                except Exception:  # the store is down: count in this worker's memory
                    log.warning("rate-limit store unreachable; counting verify calls in memory")
                    wait = self._memory_hit(number, item, key)
            else:
                wait = self._memory_hit(number, item, key)
            if wait is not None:
                return wait
        return None

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

    @staticmethod
    def _shared_hit(limiter: FixedWindowRateLimiter, item: RateLimitItem, key: str) -> int | None:
        if limiter.hit(item, "verify", key):
            return None
        reset_at, _remaining = limiter.get_window_stats(item, "verify", key)
        return max(1, math.ceil(reset_at - time.time()))

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
        if self.shared is not None:
            self.shared.storage.reset()


def init_verify_limit(app: Flask) -> None:
    app.extensions[EXTENSION] = VerifyLimit(
        app.config["CONSENT_RATELIMIT_VERIFY"], app.config["CONSENT_RATELIMIT_STORAGE_URI"]
    )


def enforce(caller: Caller) -> None:
    """In the Flask route: raise TooManyRequests when the caller's key is over its limit."""
    if COUNTED in request.environ:
        wait = request.environ[COUNTED]
    else:
        wait = current_app.extensions[EXTENSION].count(caller.api_key_id)
    if wait is not None:
        raise TooManyRequests(
            f"This API key made too many verify calls; try again in {wait} seconds.",
            retry_after=wait,
        )
