"""A signature waiting for the clinician's confirmation for more than a few minutes reaches
them by e-mail (the outbox, a real SMTP server), naming no patient; confirmed before the
message is due, the message is cancelled, never sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from consent import clock
from consent.accounts.models import Account
from consent.accounts.scope import EVERY_TEAM
from consent.consents import signing
from consent.consents.decisions import Signer
from consent.consents.signature import drawn_signature
from consent.db import db
from consent.notifications.models import EmailMessage
from consent.notifications.service import WAITING_MINUTES, notify_waiting
from consent.web.context import runtime
from consent.workflows.decide import confirm_on_tablet
from consent.workflows.send_email import send_due
from tests.factories import Flow, issue_key, member, photo, signature_strokes
from tests.notifications.test_withdrawal_email import Inbox, smtp  # noqa: F401 (fixture)


def _signed(app: Flask) -> tuple[str, Account]:
    """Dr Wait's patient signed on the tablet (as tablet.py does: submit, then queue)."""
    account = member(email="dr.wait@hospital.test", display_name="Dr Wait")
    key = issue_key(name="k", scopes=["consents:write"], days=30, account=account)
    db.session.commit()
    flow = Flow(app.test_client(), key.secret)
    patient = flow.patient()
    media = flow.media(patient, photo(92))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    issued = signing.issue_link(db.session, request_id=request_id, minutes=30, scope=EVERY_TEAM)
    link = signing.open_link(db.session, issued.token, "tablet")
    signing.submit(
        db.session,
        runtime().vault,
        link=link,
        choices={"teaching": True},
        signer=Signer("patient"),
        drawn=drawn_signature(signature_strokes()),
    )
    notify_waiting(db.session, request_id)
    db.session.commit()
    return request_id, account


def _configure(configure: Any, port: int) -> None:
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = port
    configure["CONSENT_SMTP_FROM"] = "consent@hospital.test"


def test_a_signature_waiting_too_long_is_mailed_to_the_clinician(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp
    request_id, _account = _signed(app)
    _configure(configure, port)
    # Not yet: the clinician may be confirming right now.
    assert send_due(db.session, runtime()).sent == []
    later = clock.now() + timedelta(minutes=WAITING_MINUTES + 1)
    monkeypatch.setattr("consent.clock.now", lambda: later)
    assert len(send_due(db.session, runtime()).sent) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["dr.wait@hospital.test"]
    assert "waits for your confirmation" in str(message["Subject"])
    body = message.get_content()
    assert f"/clinician/requests/{request_id}" in body and "Jeanne" not in body


def test_a_signature_confirmed_in_time_sends_nothing(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp
    request_id, account = _signed(app)
    confirm_on_tablet(
        db.session, runtime(), request_id=request_id, account=account, scope=EVERY_TEAM
    )
    db.session.commit()
    _configure(configure, port)
    later = clock.now() + timedelta(minutes=WAITING_MINUTES + 1)
    monkeypatch.setattr("consent.clock.now", lambda: later)
    assert send_due(db.session, runtime()).sent == []
    assert inbox.messages == []
    assert db.session.scalar(select(EmailMessage.state)) == "cancelled"
