"""Sending one webhook delivery: POST the payload to the endpoint, signed per Standard Webhooks
(webhook-id, webhook-timestamp, webhook-signature over ``id.timestamp.body``).

Whatever the endpoint or the network does is the outcome, never an exception. Redirects are
never followed: a 3xx is the endpoint's answer, recorded as a failure. The connection goes to
the address checked by consent.webhooks.egress (no second look-up: DNS rebinding).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from consent import clock
from consent.webhooks.egress import EgressRefused, PinnedTarget, checked_target
from consent.webhooks.models import MAX_RESPONSE_BYTES
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


def send(
    claim: Delivery,
    *,
    secret: str,
    timeout: float,
    allow_http: bool,
    allowed_networks: tuple[str, ...] = (),
    ca_file: str | None = None,
) -> Outcome:
    """POST the delivery's payload to its endpoint, signed with ``secret`` (whsec_...). Never
    raises for what the endpoint or the network does: that is the outcome, its error one of
    ERROR_CATEGORIES (never the raw message, which would map the network behind the service).

    The host is resolved and checked here, at each attempt, and the connection goes to the
    address checked (consent.webhooks.egress): a redirect is never followed.
    """
    attempted_at = clock.now()
    started = time.monotonic()

    def outcome(**kwargs: Any) -> Outcome:
        elapsed = round((time.monotonic() - started) * 1000)
        return Outcome(attempted_at=attempted_at, duration_ms=elapsed, **kwargs)

    if url_errors(claim.url, allow_http=allow_http):
        # The configuration changed since it was registered (http no longer allowed).
        return outcome(error="invalid_url")
    parts = urlsplit(claim.url)
    https = parts.scheme == "https"
    try:
        target = checked_target(
            str(parts.hostname),
            parts.port or (443 if https else 80),
            allowed_networks=allowed_networks,
        )
    except EgressRefused as exc:
        return outcome(error=exc.category)
    signature = Webhook(secret).sign(claim.delivery_id, attempted_at, claim.payload)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = _connection(target, https=https, timeout=timeout, ca_file=ca_file)
    try:
        connection.request(
            "POST",
            path,
            body=claim.payload.encode(),
            headers={
                "Host": parts.netloc,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-id": claim.delivery_id,
                "webhook-timestamp": str(int(attempted_at.timestamp())),
                "webhook-signature": signature,
            },
        )
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE_BYTES)
        return outcome(status_code=response.status, body=body)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return outcome(error=error_category(exc))
    finally:
        connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name would resolve to now."""

    def __init__(self, target: PinnedTarget, *, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.pinned = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is checked against the host name (SNI)."""

    def __init__(self, target: PinnedTarget, *, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self.pinned = target.address
        self.tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _connection(
    target: PinnedTarget, *, https: bool, timeout: float, ca_file: str | None
) -> http.client.HTTPConnection:
    if not https:
        return _PinnedHTTPConnection(target, timeout=timeout)
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return _PinnedHTTPSConnection(target, timeout=timeout, context=context)


# What a caller of the delivery log is told of a failed attempt: a category, never the raw error.
ERROR_CATEGORIES = (
    "blocked",  # the host resolves to an address webhooks may not reach
    "dns",  # the host name does not resolve
    "invalid_url",  # the URL is no longer accepted (http no longer allowed)
    "timeout",
    "refused",  # connection refused
    "tls",  # the TLS handshake or the certificate failed
    "network",  # any other network failure (reset, unreachable, a malformed answer)
    "lost",  # the deliverer stopped before the answer (consent.workflows.deliver)
)


def error_category(exc: BaseException) -> str:
    """The category of a failed attempt's exception."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    return "network"
