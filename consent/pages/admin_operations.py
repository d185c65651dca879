"""Administration of the service's operations, for admins: the log's state (size and the
current signed checkpoint), the signing keys (active, next, retired), and the webhook endpoints
of the admin's teams with their recent deliveries, and a test event sent to one of them. Other
changes stay with the CLI and the API (accounts, teams and API keys: the `admin` blueprint).
Every action here goes in the admin journal."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from consent.accounts.journal import record_admin_action
from consent.db import db
from consent.errors import ConsentError
from consent.records import proofs
from consent.web.context import EXTENSION as RUNTIME
from consent.web.context import runtime
from consent.web.extensions import limiter
from consent.web.staff import staff, staff_required, staff_scope, staff_teams
from consent.webhooks.events import test_event
from consent.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from consent.workflows.audit import audit
from consent.workflows.audit_records import AuditReport
from consent.workflows.key_rotation import rotate_signing_key

blp = Blueprint("admin_operations", __name__, url_prefix="/admin/operations")
RECENT_DELIVERIES = 50
MAX_PROBLEMS_SHOWN = 20


def _admin() -> None:
    if staff().role != "admin":
        abort(403)


@blp.get("/")
@staff_required
def overview() -> ResponseReturnValue:
    """The log and the signing keys."""
    _admin()
    return _overview(None)


@blp.post("/audit")
@staff_required
@limiter.limit("2 per minute")
def run_audit() -> ResponseReturnValue:
    """Run the full audit now (every leaf, signature and record) and show its result. Problems
    are named by log position only: a record's id may be another team's."""
    _admin()
    report = audit(db.session, runtime().keyring)
    record_admin_action(
        db.session, account_id=staff().id, action="log.audited", object_id=f"log:{report.leaves}"
    )
    db.session.commit()
    return _overview(report)


@blp.get("/keys/rotate")
@staff_required
def confirm_rotation() -> ResponseReturnValue:
    """What rotating does, and the button that does it."""
    _admin()
    return render_template(
        "admin_operations/rotate.html", active=runtime().keyring.active, error=None
    )


@blp.post("/keys/rotate")
@staff_required
@limiter.limit("2 per minute")
def rotate_key() -> ResponseReturnValue:
    """A new active signing key (the CLI's rotate-key); the old one retires and still
    verifies. This process signs with it at once; the other workers reading the same key file
    within a second (consent.web.keywatch)."""
    _admin()
    try:
        rotation = rotate_signing_key(runtime())
    except ConsentError as exc:
        error = exc.message
        if runtime().settings.signing_keys:
            error = _(
                "The signing keys come from the environment (CONSENT_SIGNING_KEYS): rotate them "
                "there, as docs/operations.md says."
            )
        page = render_template(
            "admin_operations/rotate.html", active=runtime().keyring.active, error=error
        )
        return page, 409
    current_app.extensions[RUNTIME] = rotation.runtime
    record_admin_action(
        db.session,
        account_id=staff().id,
        action="signing_key.rotated",
        object_id=rotation.key.key_id,
    )
    db.session.commit()
    flash(
        _(
            "The key %(key)s signs from now on; the previous key is retired and still verifies "
            "every receipt it signed. Every worker that reads this key file takes it up within "
            "a second.",
            key=rotation.key.key_id,
        )
    )
    return redirect(url_for("admin_operations.overview"))


def _overview(report: AuditReport | None) -> ResponseReturnValue:
    rt = runtime()
    checkpoint = proofs.current_checkpoint(db.session, rt.keyring, origin=rt.log_origin)
    # The checkpoint's second line is the tree size (c2sp.org/tlog-checkpoint).
    size = int(checkpoint.splitlines()[1])
    return render_template(
        "admin_operations/overview.html",
        size=size,
        checkpoint=checkpoint,
        keys=rt.keyring.public_keys(),
        origin=rt.log_origin,
        report=report,
        problems=[
            finding.problem for finding in (report.findings if report else [])[:MAX_PROBLEMS_SHOWN]
        ],
    )


@blp.get("/webhooks")
@staff_required
def webhooks() -> ResponseReturnValue:
    """The endpoints of the admin's teams, with their latest deliveries and attempts."""
    _admin()
    scope = staff_scope()
    teams = {team.id: team.name for team in staff_teams()}
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    if scope.teams is not None:
        query = query.where(WebhookEndpoint.team_id.in_(sorted(scope.teams)))
    endpoints = list(db.session.scalars(query.order_by(WebhookEndpoint.created_at)))
    deliveries = list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id.in_([e.id for e in endpoints]))
            .order_by(WebhookDelivery.created_at.desc())
            .limit(RECENT_DELIVERIES)
        )
    )
    last_attempt = {
        attempt.delivery_id: attempt
        for attempt in db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(WebhookAttempt.number)
        )
    }
    return render_template(
        "admin_operations/webhooks.html",
        endpoints=endpoints,
        deliveries=deliveries,
        last_attempt=last_attempt,
        teams=teams,
        urls={e.id: e.url for e in endpoints},
    )


@blp.post("/webhooks/<endpoint_id>/test")
@staff_required
@limiter.limit("10 per minute")
def send_test_event(endpoint_id: str) -> ResponseReturnValue:
    """Queue a signed ``webhook.test`` delivery to one endpoint of the admin's teams; the
    deliverers send it like any event, and the history below shows how it went."""
    _admin()
    scope = staff_scope()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id[:40])
    if (
        endpoint is None
        or endpoint.deleted_at is not None
        or (scope.teams is not None and endpoint.team_id not in scope.teams)
    ):
        abort(404)
    delivery = test_event(db.session, endpoint)
    record_admin_action(
        db.session,
        account_id=staff().id,
        action="webhook_endpoint.test_event",
        object_id=endpoint.id,
    )
    db.session.commit()
    flash(
        _(
            "A test event is on its way to %(url)s (delivery %(id)s): reload this page in a few "
            "seconds to see its answer in the history below.",
            url=endpoint.url,
            id=delivery.id,
        )
    )
    return redirect(url_for("admin_operations.webhooks"))
