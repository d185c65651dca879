"""Webhook endpoints (register, list, delete) and ``emit``, which writes an event to the outbox
in the caller's transaction. Delivery is in ``consent.workflows.deliver``.

Payloads never carry identity (invariant 5): a consent id, a log index, purposes and media
hashes; whoever receives one asks verify before acting.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, select, update

from consent import clock
from consent.accounts.keys import Caller
from consent.crypto.vault import Vault
from consent.db import AnySession
from consent.db.types import new_id, rfc3339
from consent.errors import Conflict, Forbidden, InvalidInput, NotFound
from consent.webhooks.egress import EgressRefused, checked_target
from consent.webhooks.models import (
    EVENTS,
    MAX_URL_LENGTH,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

# Standard Webhooks: the secret is shown as "whsec_" + base64 of 24 to 64 random bytes.
SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
_SECRET_BYTES = 32
# Endpoints one team may have at once: every event is sent to each of them.
MAX_ENDPOINTS_PER_OWNER = 20


@dataclass(frozen=True)
class RegisteredEndpoint:
    """A new endpoint: ``secret`` (whsec_...) is returned once and never shown again."""

    record: WebhookEndpoint
    secret: str


def url_errors(url: str, *, allow_http: bool) -> list[str]:
    """What is wrong with an endpoint URL; empty when nothing is."""
    if len(url) > MAX_URL_LENGTH:
        return [f"At most {MAX_URL_LENGTH} characters."]
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        return ["No spaces or control characters."]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number in range)
    except ValueError:
        return ["Not a valid URL."]
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return ["Use https." if not allow_http else "Use http or https."]
    if not parts.hostname:
        return ["Name a host."]
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return ["No user name or password in the URL: check the signature instead."]
    if parts.fragment:
        return ["No #fragment: it is never sent."]
    return []


def _owned(caller: Caller) -> Any:
    """The endpoints a caller manages: its team's (another team's is a 404)."""
    return WebhookEndpoint.team_id == caller.team_id


def register_endpoint(
    session: AnySession,
    vault: Vault,
    *,
    url: str,
    events: list[str],
    caller: Caller,
    allow_http: bool,
    allowed_networks: tuple[str, ...] = (),
) -> RegisteredEndpoint:
    """Register ``url`` for ``events``, with a new signing secret.

    Raises Conflict when the team already has this URL; InvalidInput for a URL that is not
    http(s) (https only, unless CONSENT_WEBHOOKS_ALLOW_HTTP), too long or with credentials,
    for unknown or no events, and when the team already has MAX_ENDPOINTS_PER_OWNER; EgressRefused
    (an InvalidInput) when the host resolves to an address webhooks may not reach
    (consent.webhooks.egress); a name that does not resolve yet is accepted and checked at
    each delivery. Forbidden for a caller that is not an administrator
    (docs/roles.md).
    """
    if not caller.is_admin:
        raise Forbidden("Only an administrator's key registers webhook endpoints.")
    errors: dict[str, list[str]] = {}
    problems = url_errors(url, allow_http=allow_http)
    if problems:
        errors["url"] = problems
    unknown = sorted(set(events) - set(EVENTS))
    if not events or unknown:
        got = ", ".join(unknown) or "none"
        errors["events"] = [f"Choose among {', '.join(EVENTS)}; got {got}."]
    if errors:
        raise InvalidInput("The webhook endpoint is not valid; see errors.", errors=errors)
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        checked_target(
            str(parts.hostname), parts.port or default_port, allowed_networks=allowed_networks
        )
    except EgressRefused as refused:
        # A name that does not resolve (yet) reaches nothing: it is accepted, and checked again
        # at every delivery (its attempts are recorded as "dns"). An address that does resolve
        # must be one webhooks may reach.
        if refused.category != "dns":
            raise
    owned = session.scalars(
        select(WebhookEndpoint.url).where(_owned(caller), WebhookEndpoint.deleted_at.is_(None))
    ).all()
    if url in owned:
        # Two registrations of one URL would receive every event twice.
        raise Conflict(
            "This URL is already registered: delete that endpoint first to change its events.",
            errors={"url": ["Already registered."]},
        )
    if len(owned) >= MAX_ENDPOINTS_PER_OWNER:
        raise InvalidInput(
            f"At most {MAX_ENDPOINTS_PER_OWNER} webhook endpoints; delete one first.",
            errors={"url": ["Too many endpoints."]},
        )
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()
    endpoint = WebhookEndpoint(
        id=new_id("wh"),
        team_id=caller.team_id,
        url=url,
        events=",".join(sorted(set(events))),
        secret_sealed=vault.seal_service_secret(secret.encode()),
        api_key_id=caller.api_key_id,
        account_id=caller.account_id,
        created_at=clock.now(),
    )
    session.add(endpoint)
    session.flush()
    return RegisteredEndpoint(endpoint, secret)


def list_endpoints(session: AnySession, caller: Caller) -> list[WebhookEndpoint]:
    """The endpoints of the caller's team, oldest first."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None), _owned(caller))
    return list(session.scalars(query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))


def get_endpoint(session: AnySession, endpoint_id: str, caller: Caller) -> WebhookEndpoint:
    """One of the endpoints of the caller's team. Raises NotFound, for another team's too."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None), _owned(caller)
    )
    endpoint: WebhookEndpoint | None = session.scalar(query)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


def delete_endpoint(session: AnySession, endpoint_id: str, caller: Caller) -> None:
    """Stop sending to an endpoint: its secret is dropped and its pending deliveries are
    cancelled; the attempts made stay on record. Raises NotFound."""
    endpoint = get_endpoint(session, endpoint_id, caller)
    now = clock.now()
    endpoint.deleted_at = now
    endpoint.secret_sealed = None
    # A delivery being sent right now finishes; its result no longer changes its state.
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.state.in_(("pending", "sending")),
        )
        .values(state="cancelled", finished_at=now, lease_until=None, claim_token=None)
    )
    session.flush()


def recent_deliveries(
    session: AnySession, endpoint: WebhookEndpoint, *, limit: int
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The endpoint's latest deliveries, newest first, each with its attempts in order."""
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    ).all()
    attempts: dict[str, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.number)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(row, attempts[row.id]) for row in rows]


_SUBSCRIBERS = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
    WebhookEndpoint.deleted_at.is_(None)
)


def emit(session: AnySession, team_id: str, event_type: str, data: dict[str, Any]) -> int:
    """Add ``event_type`` to the outbox of every endpoint of the team subscribed to it, in the
    current transaction (the caller commits it with the event itself). Returns the rows added.

    Raises ValueError for an event name that is not one of EVENTS (a programming error).
    """
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = [
        endpoint_id
        for endpoint_id, events in session.execute(
            _SUBSCRIBERS.where(WebhookEndpoint.team_id == team_id)
        )
        if event_type in events.split(",")
    ]
    if not endpoints:
        return 0
    now = clock.now()
    # Standard Webhooks payload: type, timestamp, data. Fixed here: every retry sends these bytes.
    payload = json.dumps(
        {"type": event_type, "timestamp": rfc3339(now), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )
    session.add_all(
        WebhookDelivery(
            id=new_id("msg"),
            endpoint_id=endpoint_id,
            event_type=event_type,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id in endpoints
    )
    return len(endpoints)


@dataclass(frozen=True)
class Backlog:
    """The outbox as monitoring sees it (consent.web.metrics)."""

    waiting: int  # deliveries pending or being sent
    retrying: int  # of those, the ones that failed at least once
    oldest_due_seconds: float  # how long the most overdue pending delivery has waited (0: none)
    dead: int  # deliveries given up after every attempt


def backlog(session: AnySession) -> Backlog:
    """Count the outbox by state; delivered rows (the bulk) are not read."""
    rows = session.execute(
        select(
            WebhookDelivery.state,
            func.count(),
            func.sum(case((WebhookDelivery.attempts > 0, 1), else_=0)),
            func.min(WebhookDelivery.next_attempt_at),
        )
        .where(WebhookDelivery.state.in_(("pending", "sending", "dead")))
        .group_by(WebhookDelivery.state)
    ).all()
    now = clock.now()
    waiting = retrying = dead = 0
    oldest = 0.0
    for state, count, failed, earliest in rows:
        if state == "dead":
            dead = int(count)
            continue
        waiting += int(count)
        retrying += int(failed or 0)
        if state == "pending" and earliest is not None and earliest <= now:
            oldest = max(oldest, (now - earliest).total_seconds())
    return Backlog(waiting, retrying, oldest, dead)
