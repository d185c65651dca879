"""The weekly digest of consents ending soon: one e-mail per informing clinician with any, at
most once a week however often the command runs, naming no patient, linking to the
worklist's "ending soon" filter; nothing for a clinician whose consents all end later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner

from consent import clock
from consent.db import db
from consent.web.context import runtime
from consent.workflows.digest import queue_expiring_digests
from consent.workflows.send_email import send_due
from tests.factories import Flow, in_days, issue_key, member, photo
from tests.notifications.test_withdrawal_email import Inbox, smtp  # noqa: F401 (fixture)


def _flow(app: Flask, email: str) -> Flow:
    account = member(email=email, display_name="Dr " + email.split("@")[0])
    key = issue_key(name=email, scopes=["consents:write"], days=30, account=account)
    db.session.commit()
    return Flow(app.test_client(), key.secret)


def test_a_clinician_with_consents_ending_soon_gets_one_digest_a_week(
    app: Flask,
    runner: FlaskCliRunner,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    soon = _flow(app, "soon@hospital.test")
    soon.consent(photo(93), {"teaching": True}, expires_at=in_days(10))
    soon.consent(photo(94), {"teaching": True}, expires_at=in_days(20))
    later = _flow(app, "later@hospital.test")
    later.consent(photo(95), {"teaching": True}, expires_at=in_days(200))
    answer = runner.invoke(args=["queue-digests"])
    assert answer.exit_code == 0 and "1 digest(s) queued" in answer.output
    # Again the same week: nothing more.
    assert queue_expiring_digests(db.session) == []
    # Next week: again.
    assert len(queue_expiring_digests(db.session, now=clock.now() + timedelta(days=7))) == 1
    db.session.rollback()
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = port
    configure["CONSENT_SMTP_FROM"] = "consent@hospital.test"
    assert len(send_due(db.session, runtime()).sent) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["soon@hospital.test"]
    body = message.get_content()
    assert "/clinician/?state=expiring" in body and "Jeanne" not in body
    assert "ending soon" in str(message["Subject"])
