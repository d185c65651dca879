"""Draining the outbox: claim one due delivery, send it signed (Standard Webhooks), record the
attempt, and schedule the next one with exponential backoff, or give up (``dead``).

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

import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from standardwebhooks import Webhook

from consent import clock
from consent.db import db
from consent.runtime import runtime
from consent.webhooks.models import (
    MAX_ERROR_LENGTH,
    MAX_RESPONSE_BYTES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from consent.webhooks.service import url_errors

log = logging.getLogger(__name__)

# Seconds a claim outlives the request timeout before another deliverer may take it over.
LEASE_MARGIN_SECONDS = 60
USER_AGENT = "consent-service-webhooks/1"
LOST = "No result recorded: the deliverer stopped before the answer (its lease ran out)."


@dataclass(frozen=True)
class Claim:
    """A delivery this deliverer holds: attempt ``number`` is its to make, under ``token``."""

    delivery_id: str
    number: int
    token: str
    url: str
    secret_sealed: bytes
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


def claim_next(*, now: datetime, max_attempts: int, lease: timedelta) -> Claim | None:
    """Claim the delivery due first, or None when nothing is due. Commits the claim.

    A delivery left ``sending`` by a deliverer whose lease ran out has that attempt recorded
    as lost; if it was the last one allowed, the delivery is ``dead`` instead of claimed.
    """
    session = db.session
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
                if not _flush_or_rollback():
                    continue
            if row.attempts >= max_attempts:
                session.execute(
                    update(WebhookDelivery)
                    .where(same_row)
                    .values(state="dead", finished_at=now, lease_until=None, claim_token=None)
                )
                _commit_or_rollback()
                continue
        token = secrets.token_hex(16)
        claimed = _changed(
            update(WebhookDelivery)
            .where(same_row)
            .values(
                state="sending",
                attempts=row.attempts + 1,
                lease_until=now + lease,
                claim_token=token,
            )
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
            _commit_or_rollback()
            continue
        if not _commit_or_rollback():
            continue
        return Claim(row.id, row.attempts + 1, token, url, secret_sealed, payload)


def _changed(statement: Any) -> int:
    """Execute an UPDATE; the rows it changed."""
    result: CursorResult[Any] = db.session.execute(statement)  # type: ignore[assignment]
    return result.rowcount


def _flush_or_rollback() -> bool:
    """Flush; False (and nothing written) when another deliverer already recorded the same
    attempt number: a lost attempt, or the late result of a deliverer that lost its lease."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _commit_or_rollback() -> bool:
    if not _flush_or_rollback():
        return False
    db.session.commit()
    return True


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is the endpoint's answer: recorded as a failure, never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send(claim: Claim, *, timeout: float, allow_http: bool) -> Outcome:
    """POST the delivery's payload to its endpoint, signed. Never raises for what the
    endpoint or the network does: that is the outcome."""
    attempted_at = clock.now()
    started = time.monotonic()

    def outcome(**kwargs: Any) -> Outcome:
        elapsed = round((time.monotonic() - started) * 1000)
        return Outcome(attempted_at=attempted_at, duration_ms=elapsed, **kwargs)

    problems = url_errors(claim.url, allow_http=allow_http)
    if problems:  # the configuration changed since it was registered (http no longer allowed)
        return outcome(error=f"Not sent: {problems[0]}")
    secret = runtime().vault.open_service_secret(claim.secret_sealed).decode()
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


def record(claim: Claim, result: Outcome, *, max_attempts: int, base: float, cap: float) -> str:
    """Record the attempt and move the delivery on: ``delivered``, ``pending`` again after a
    backoff, or ``dead`` after the last attempt allowed. Returns the state. Commits.

    A deliverer that lost its lease changes nothing ("lost"): its attempt was recorded as
    lost by the deliverer that took over, and the delivery is that one's now.
    """
    now = clock.now()
    db.session.add(
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
    if not _flush_or_rollback():
        return "lost"
    moved = _changed(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claim_token == claim.token)
        .values(state=state, lease_until=None, claim_token=None, **values)
    )
    if not _commit_or_rollback():
        return "lost"
    return state if moved == 1 else "lost"


def deliver_due(*, limit: int | None = None) -> DeliveryReport:
    """Send every delivery due now (at most ``limit``), one after the other, and return what
    happened. Each claim, and each result, is its own transaction."""
    config = current_app.config
    timeout = float(config["CONSENT_WEBHOOK_TIMEOUT_SECONDS"])
    max_attempts = int(config["CONSENT_WEBHOOK_MAX_ATTEMPTS"])
    base = float(config["CONSENT_WEBHOOK_BACKOFF_SECONDS"])
    cap = float(config["CONSENT_WEBHOOK_BACKOFF_CAP_SECONDS"])
    lease = timedelta(seconds=timeout + LEASE_MARGIN_SECONDS)
    report = DeliveryReport()
    while limit is None or report.attempts < limit:
        claim = claim_next(now=clock.now(), max_attempts=max_attempts, lease=lease)
        if claim is None:
            break
        result = send(claim, timeout=timeout, allow_http=config["CONSENT_WEBHOOKS_ALLOW_HTTP"])
        state = record(claim, result, max_attempts=max_attempts, base=base, cap=cap)
        {"delivered": report.delivered, "dead": report.dead}.get(state, report.retrying).append(
            claim.delivery_id
        )
    return report


class DeliveryWorker(threading.Thread):
    """Drains the outbox from inside a web worker process, every CONSENT_WEBHOOK_POLL_SECONDS.
    Off unless CONSENT_WEBHOOK_WORKER is set; ``flask --app consent deliver`` is the default."""

    def __init__(self, app: Flask, interval: float) -> None:
        super().__init__(name="webhook-delivery", daemon=True)
        self.app = app
        self.interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            with self.app.app_context():
                try:
                    deliver_due()
                except Exception as exc:  # keep going: the next round may work
                    # The type only: a database error's message quotes the row it failed on.
                    log.error("webhook delivery round failed: %s", type(exc).__name__)
                finally:
                    db.session.remove()
            self._stopping.wait(self.interval)

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self.join(timeout)


def init_worker(app: Flask) -> None:
    """Start a DeliveryWorker with the first request, when CONSENT_WEBHOOK_WORKER is set.

    Not at start-up: `flask` commands build the app too, and a server that forks after
    loading the app would lose a thread started before the fork.
    """
    if not app.config.get("CONSENT_WEBHOOK_WORKER"):
        return
    lock = threading.Lock()

    def start_worker() -> None:
        if "webhook_worker" in app.extensions:
            return
        with lock:
            if "webhook_worker" not in app.extensions:
                worker = DeliveryWorker(app, float(app.config["CONSENT_WEBHOOK_POLL_SECONDS"]))
                app.extensions["webhook_worker"] = worker
                worker.start()

    app.before_request(start_worker)
