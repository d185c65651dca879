"""Draining the outbox: claim one due delivery, send it signed (Standard Webhooks), record the
attempt, and schedule the next one with exponential backoff, or give up (``dead``).

This is the delivery worker (`flask --app consent deliver`, or a thread in each web worker with
CONSENT_WEBHOOK_WORKER): as the worker, it commits each claim and each result itself, so that no
transaction stays open while a receiver answers.

Any number of deliverers may run at once, on any hosts. A delivery is claimed by a
conditional UPDATE (``WHERE id = ? AND state = ? AND attempts = ?``) that only one of them
can win; on PostgreSQL the candidate is first picked with ``FOR UPDATE SKIP LOCKED`` so
that deliverers do not queue behind each other's rows, and on SQLite the single writer
serialises the claims. The claim is committed before the HTTP request: no transaction stays
open while a receiver answers. A claim holds a lease (the timeout plus a margin); a
deliverer that dies mid-send leaves a lease that runs out, and the next deliverer records
that attempt as lost and tries again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from consent import clock
from consent.db import AnySession
from consent.runtime import Runtime
from consent.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from consent.webhooks.sender import Delivery, Outcome, send

# Seconds a claim outlives the request timeout before another deliverer may take it over.
LEASE_MARGIN_SECONDS = 60
# The deliverer stopped before the answer (its lease ran out): no result was recorded.
LOST = "lost"


@dataclass(frozen=True)
class Claim(Delivery):
    """A delivery this deliverer holds: attempt ``number`` is its to make, under ``token``."""

    number: int
    token: str
    secret_sealed: bytes


@dataclass
class DeliveryReport:
    """What a run of ``deliver_due`` did."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.dead)


def backoff(number: int, *, base: float, cap: float) -> timedelta:
    """The wait after failed attempt ``number`` (from 1): base * 2**(number - 1), at most cap."""
    return timedelta(seconds=min(cap, base * 2 ** min(number - 1, 62)))


def _claimable(now: datetime) -> Any:
    due = and_(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
    abandoned = and_(WebhookDelivery.state == "sending", WebhookDelivery.lease_until <= now)
    return or_(due, abandoned)


def claim_next(
    session: AnySession, *, now: datetime, max_attempts: int, lease: timedelta
) -> Claim | None:
    """Claim the delivery due first, or None when nothing is due. Commits the claim.

    A delivery left ``sending`` by a deliverer whose lease ran out has that attempt recorded
    as lost; if it was the last one allowed, the delivery is ``dead`` instead of claimed.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    while True:
        candidate = (
            select(WebhookDelivery.id, WebhookDelivery.state, WebhookDelivery.attempts)
            .where(_claimable(now))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
        )
        if postgres:
            candidate = candidate.with_for_update(skip_locked=True)
        row = session.execute(candidate).first()
        if row is None:
            session.rollback()
            return None
        same_row = and_(
            WebhookDelivery.id == row.id,
            WebhookDelivery.state == row.state,
            WebhookDelivery.attempts == row.attempts,
            _claimable(now),
        )
        if row.state == "sending" and row.attempts >= 1:
            recorded = session.scalar(
                select(WebhookAttempt.id).where(
                    WebhookAttempt.delivery_id == row.id, WebhookAttempt.number == row.attempts
                )
            )
            if recorded is None:
                session.add(
                    WebhookAttempt(
                        delivery_id=row.id, number=row.attempts, attempted_at=now, error=LOST
                    )
                )
                if not _flush_or_rollback(session):
                    continue
            if row.attempts >= max_attempts:
                session.execute(
                    update(WebhookDelivery)
                    .where(same_row)
                    .values(state="dead", finished_at=now, lease_until=None, claim_token=None)
                )
                _commit_or_rollback(session)
                continue
        token = secrets.token_hex(16)
        claimed = _changed(
            session,
            update(WebhookDelivery)
            .where(same_row)
            .values(
                state="sending",
                attempts=row.attempts + 1,
                lease_until=now + lease,
                claim_token=token,
            ),
        )
        if claimed != 1:
            # Another deliverer took it between our read and our write: look again.
            session.rollback()
            continue
        url, secret_sealed, payload = session.execute(
            select(WebhookEndpoint.url, WebhookEndpoint.secret_sealed, WebhookDelivery.payload)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id == row.id)
        ).one()
        if secret_sealed is None:
            # The endpoint was deleted (which cancels its deliveries) as this one was read.
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == row.id)
                .values(state="cancelled", finished_at=now, lease_until=None, claim_token=None)
            )
            _commit_or_rollback(session)
            continue
        if not _commit_or_rollback(session):
            continue
        return Claim(row.id, url, payload, row.attempts + 1, token, secret_sealed)


def _changed(session: AnySession, statement: Any) -> int:
    """Execute an UPDATE; the rows it changed."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount


def _flush_or_rollback(session: AnySession) -> bool:
    """Flush; False (and nothing written) when another deliverer already recorded the same
    attempt number: a lost attempt, or the late result of a deliverer that lost its lease."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _commit_or_rollback(session: AnySession) -> bool:
    if not _flush_or_rollback(session):
        return False
    session.commit()
    return True


def record(
    session: AnySession,
    claim: Claim,
    result: Outcome,
    *,
    max_attempts: int,
    base: float,
    cap: float,
) -> str:
    """Record the attempt and move the delivery on: ``delivered``, ``pending`` again after a
    backoff, or ``dead`` after the last attempt allowed. Returns the state. Commits.

    A deliverer that lost its lease changes nothing ("lost"): its attempt was recorded as
    lost by the deliverer that took over, and the delivery is that one's now.
    """
    now = clock.now()
    session.add(
        WebhookAttempt(
            delivery_id=claim.delivery_id,
            number=claim.number,
            attempted_at=result.attempted_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=result.error,
            response_body=result.body,
        )
    )
    if result.ok:
        state, values = "delivered", {"finished_at": now}
    elif claim.number >= max_attempts:
        state, values = "dead", {"finished_at": now}
    else:
        wait = backoff(claim.number, base=base, cap=cap)
        state, values = "pending", {"next_attempt_at": now + wait}
    if not _flush_or_rollback(session):
        return "lost"
    moved = _changed(
        session,
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claim_token == claim.token)
        .values(state=state, lease_until=None, claim_token=None, **values),
    )
    if not _commit_or_rollback(session):
        return "lost"
    return state if moved == 1 else "lost"


def deliver_due(session: AnySession, rt: Runtime, *, limit: int | None = None) -> DeliveryReport:
    """Send every delivery due now (at most ``limit``), one after the other, and return what
    happened. Each claim, and each result, is its own transaction."""
    settings = rt.settings
    timeout = settings.webhook_timeout_seconds
    max_attempts = settings.webhook_max_attempts
    base = settings.webhook_backoff_seconds
    cap = settings.webhook_backoff_cap_seconds
    lease = timedelta(seconds=timeout + LEASE_MARGIN_SECONDS)
    report = DeliveryReport()
    while limit is None or report.attempts < limit:
        claim = claim_next(session, now=clock.now(), max_attempts=max_attempts, lease=lease)
        if claim is None:
            break
        secret = rt.vault.open_service_secret(claim.secret_sealed).decode()
        allow_http = settings.webhooks_allow_http
        result = send(
            claim,
            secret=secret,
            timeout=timeout,
            allow_http=allow_http,
            allowed_networks=settings.webhooks_allow_networks,
            ca_file=settings.webhook_ca_file,
        )
        state = record(session, claim, result, max_attempts=max_attempts, base=base, cap=cap)
        {"delivered": report.delivered, "dead": report.dead}.get(state, report.retrying).append(
            claim.delivery_id
        )
    return report
