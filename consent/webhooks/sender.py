"""Sending one webhook delivery: POST the payload to the endpoint, signed per Standard Webhooks
(webhook-id, webhook-timestamp, webhook-signature over ``id.timestamp.body``).

Whatever the endpoint or the network does is the outcome, never an exception. Redirects are
never followed: a 3xx is the endpoint's answer, recorded as a failure.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook

from consent import clock
from consent.client import NoRedirects
from consent.webhooks.models import MAX_ERROR_LENGTH, MAX_RESPONSE_BYTES
from consent.webhooks.service import url_errors

USER_AGENT = "consent-service-webhooks/1"


@dataclass(frozen=True)
class Delivery:
    """What is sent: to ``url``, the delivery's id and payload, signed with ``secret``."""

    delivery_id: str
    url: str
    payload: str


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: an HTTP status, or an error; with its start time and duration."""

    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    body: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_OPENER = urllib.request.build_opener(NoRedirects)


def send(claim: Delivery, *, secret: str, timeout: float, allow_http: bool) -> Outcome:
    """POST the delivery's payload to its endpoint, signed with ``secret`` (whsec_...). Never
    raises for what the endpoint or the network does: that is the outcome."""
    attempted_at = clock.now()
    started = time.monotonic()

    def outcome(**kwargs: Any) -> Outcome:
        elapsed = round((time.monotonic() - started) * 1000)
        return Outcome(attempted_at=attempted_at, duration_ms=elapsed, **kwargs)

    problems = url_errors(claim.url, allow_http=allow_http)
    if problems:  # the configuration changed since it was registered (http no longer allowed)
        return outcome(error=f"Not sent: {problems[0]}")
    signature = Webhook(secret).sign(claim.delivery_id, attempted_at, claim.payload)
    request = urllib.request.Request(  # noqa: S310  (http(s) only: url_errors above)
        claim.url,
        data=claim.payload.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": claim.delivery_id,
            "webhook-timestamp": str(int(attempted_at.timestamp())),
            "webhook-signature": signature,
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return outcome(status_code=response.status, body=response.read(MAX_RESPONSE_BYTES))
    except urllib.error.HTTPError as exc:  # any status but 2xx, a 3xx included
        body = None
        if exc.fp is not None:
            try:
                body = exc.read(MAX_RESPONSE_BYTES)
            except OSError:
                body = None
            finally:
                exc.close()
        return outcome(status_code=exc.code, body=body)
    except urllib.error.URLError as exc:
        return outcome(error=_describe(exc.reason))
    except (OSError, ValueError) as exc:  # timeouts, resets, a malformed answer
        return outcome(error=_describe(exc))


def _describe(reason: object) -> str:
    text = f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else reason
    return str(text)[:MAX_ERROR_LENGTH]
