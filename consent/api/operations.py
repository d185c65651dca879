"""What operators and their tools call: ``GET /health`` (is this node able to answer: its
database reachable?) and ``GET /metrics`` (Prometheus text format, docs/operations.md).

Neither is part of the API's contract (no OpenAPI entry); both answer errors in its one shape.
``/metrics`` needs an auditor's key (scope ``audit``) or an administrator's: its figures name no
patient, but request rates and key ids are the hospital's business. nginx's site does not pass
it on (deploy/nginx/consent.conf): Prometheus scrapes each node at its own address.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text

from consent.crypto.keyring import Keyring
from consent.db import AnySession, db
from consent.errors import Forbidden, ServiceUnavailable
from consent.ledger import store
from consent.records.timestamps import timestamp_status
from consent.web import metrics
from consent.web.auth import ANY_VALID_KEY, current_caller, require_scope
from consent.web.context import runtime
from consent.webhooks.service import backlog

log = logging.getLogger(__name__)

blp = Blueprint("operations", __name__)


@blp.get("/health")
def health() -> Response:
    """200 when this node reaches its database, else 503 (a load balancer takes it out)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        # The type only: a driver's message may quote the connection string.
        log.error("health: database unreachable", extra={"fields": {"error": type(exc).__name__}})
        raise ServiceUnavailable("This node cannot reach its database.") from exc
    response = jsonify({"status": "ok", "database": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/metrics")
@require_scope(ANY_VALID_KEY)
def scrape() -> Response:
    """Every metric of this node's workers, and the shared database's figures."""
    caller = current_caller()
    if "audit" not in caller.scopes and not caller.is_admin:
        raise Forbidden("Metrics need an auditor's key (scope audit) or an administrator's.")
    body = metrics.exposition(
        database_families(
            db.session, runtime().keyring, timestamping=runtime().timestamping is not None
        )
    )
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def database_families(
    session: AnySession, keyring: Keyring, *, timestamping: bool = False
) -> list[Metric]:
    """What the shared database and this node's keys say now (and, with timestamping
    authorities configured, how many checkpoints wait for a token and for how long)."""
    outbox = backlog(session)
    size = store.head(session).size
    keys = GaugeMetricFamily(
        "consent_signing_key_info",
        "This node's signing keys by id and status (active signs; next verifies, signs later).",
        labels=("key_id", "status"),
    )
    for key in keyring.public_keys():
        keys.add_metric((key.key_id, key.status), 1)
    families: list[Metric] = [
        _gauge("consent_log_entries", "Entries in the log (its tree size).", size),
        _gauge(
            "consent_webhook_outbox_waiting",
            "Webhook deliveries pending or being sent.",
            outbox.waiting,
        ),
        _gauge(
            "consent_webhook_outbox_retrying",
            "Webhook deliveries waiting after at least one failed attempt.",
            outbox.retrying,
        ),
        _gauge(
            "consent_webhook_outbox_oldest_due_seconds",
            "How long the most overdue pending webhook delivery has waited.",
            outbox.oldest_due_seconds,
        ),
        _gauge(
            "consent_webhook_deliveries_dead",
            "Webhook deliveries given up after every attempt.",
            outbox.dead,
        ),
        keys,
    ]
    if timestamping:
        stamps = timestamp_status(session)
        families += [
            _gauge(
                "consent_checkpoints_untimestamped",
                "Checkpoints waiting for an RFC 3161 timestamp (CONSENT_TSA_URLS).",
                stamps.pending,
            ),
            _gauge(
                "consent_checkpoint_timestamp_delay_seconds",
                "How long the oldest checkpoint without a timestamp has waited (0: none waits).",
                stamps.delay_seconds(datetime.now(UTC)),
            ),
        ]
    return families
