"""Webhook endpoints, the outbox of deliveries, and every attempt made to deliver them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent.db import db
from consent.db.types import UTCDateTime, utcnow

EVENTS = ("consent.created", "consent.withdrawn", "consent.expired")
# Sent to one endpoint when an administrator asks ("Send a test event"); never subscribed to.
TEST_EVENT = "webhook.test"
DELIVERY_EVENTS = (*EVENTS, TEST_EVENT)
# pending: due at next_attempt_at; sending: claimed by a deliverer until lease_until;
# delivered: a 2xx answer; dead: CONSENT_WEBHOOK_MAX_ATTEMPTS failures; cancelled: the
# endpoint was deleted before the delivery succeeded.
DELIVERY_STATES = ("pending", "sending", "delivered", "dead", "cancelled")
MAX_URL_LENGTH = 2000
# The first bytes of an answer kept with an attempt, for whoever debugs the endpoint.
MAX_RESPONSE_BYTES = 500
MAX_ERROR_LENGTH = 500


class WebhookEndpoint(db.Model):  # type: ignore[name-defined,misc]
    """A publisher's URL and the events it wants. Its signing secret is kept sealed with the
    vault (it is needed in clear to sign), and dropped when the endpoint is deleted."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(
            "(deleted_at IS NULL AND secret_sealed IS NOT NULL) "
            "OR (deleted_at IS NOT NULL AND secret_sealed IS NULL)",
            name="secret_until_deleted",
        ),
        CheckConstraint(f"length(url) <= {MAX_URL_LENGTH}", name="url_length"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The team whose events it hears; its administrators manage it.
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    url: Mapped[str] = mapped_column(String(MAX_URL_LENGTH))
    # Comma separated, sorted, among EVENTS.
    events: Mapped[str] = mapped_column(String(200))
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The key that registered it, and the account that key acts for (for the record).
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def event_list(self) -> list[str]:
        return self.events.split(",")


class WebhookDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One event for one endpoint: the outbox row, written in the transaction that records
    the event. Its id is the Standard Webhooks ``webhook-id``, the same on every retry; its
    payload is fixed when the event happens, so every attempt sends the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"state IN {DELIVERY_STATES!r}", name="state_known"),
        CheckConstraint(f"event_type IN {DELIVERY_EVENTS!r}", name="event_known"),
        CheckConstraint("attempts >= 0", name="attempts_counted"),
        CheckConstraint(
            "(state = 'sending') = (lease_until IS NOT NULL AND claim_token IS NOT NULL)",
            name="lease_while_sending",
        ),
        # What deliverers look for: the due rows of a state.
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    # Attempts started, counted when a deliverer claims the row: the number of the next one.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # While a deliverer holds the row: until when, and its token (a result recorded under
    # another token is a deliverer that lost its lease, and changes nothing).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(db.Model):  # type: ignore[name-defined,misc]
    """One try at a delivery: the HTTP status, or the error; how long it took; when."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        # One row per attempt number: two deliverers never both record attempt n.
        UniqueConstraint("delivery_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("status_code IS NOT NULL OR error IS NOT NULL", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"))
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # None only for an attempt whose deliverer stopped before it could time it.
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(MAX_ERROR_LENGTH))
    # At most MAX_RESPONSE_BYTES of the answer's body.
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
