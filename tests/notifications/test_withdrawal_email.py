"""A patient's withdrawal reaches the informing clinician by e-mail, through the outbox, at a
real SMTP server (aiosmtpd) started by the test: the message names no patient, only links to
the request's page; a server that is down gets the message retried later, not lost."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from consent.db import db
from consent.notifications.models import EmailMessage
from consent.web.context import runtime
from consent.workflows.send_email import send_due
from consent.workflows.withdraw import withdraw_with_code
from tests.factories import Flow, issue_key, member, photo


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _withdrawn(app: Flask) -> tuple[str, str]:
    """A consent of Dr Mail's patient, one use withdrawn by the patient; (request id, name)."""
    account = member(email="dr.mail@hospital.test", display_name="Dr Mail")
    key = issue_key(name="k", scopes=["consents:write"], days=30, account=account)
    db.session.commit()
    flow = Flow(app.test_client(), key.secret)
    decision = flow.consent(photo(91), {"teaching": True, "survey": True})
    withdraw_with_code(
        db.session, runtime().keyring, consent_id=decision["consent_id"], purposes=["teaching"]
    )
    db.session.commit()
    request_id = db.session.scalar(select(EmailMessage.request_id))
    assert request_id is not None
    return request_id, "Jeanne Martin"


def test_the_clinician_gets_an_email_without_the_patients_name(
    app: Flask, configure: Any, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    request_id, name = _withdrawn(app)
    # Queued with the withdrawal; nothing sent while no SMTP server is configured.
    assert send_due(db.session, runtime()).sent == []
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = port
    configure["CONSENT_SMTP_FROM"] = "consent@hospital.test"
    report = send_due(db.session, runtime())
    assert len(report.sent) == 1 and inbox.messages
    recipients, message = inbox.messages[0]
    assert recipients == ["dr.mail@hospital.test"]
    body = message.get_content()
    assert f"/clinician/requests/{request_id}" in body
    assert name not in body and name not in str(message["Subject"])
    assert "withdrew" in str(message["Subject"])
    # Sent once: a second round sends nothing.
    assert send_due(db.session, runtime()).sent == []
    assert db.session.scalar(select(EmailMessage.state)) == "sent"


def test_a_server_that_is_down_gets_the_message_retried(app: Flask, configure: Any) -> None:
    _withdrawn(app)
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = _free_port()  # nothing listens there
    report = send_due(db.session, runtime())
    assert report.sent == [] and len(report.retrying) == 1
    row = db.session.scalars(select(EmailMessage)).one()
    assert row.state == "pending" and row.attempts == 1 and row.last_error
