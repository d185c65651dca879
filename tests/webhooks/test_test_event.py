"""The admin's "Send a test event" button: a ``webhook.test`` delivery to that one endpoint,
sent by the normal deliverers to a real receiver, signed per Standard Webhooks with the
endpoint's secret, shown in the delivery history and recorded in the admin journal. Another
team's endpoint is a 404; a clinician is refused."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from standardwebhooks import Webhook

from consent.accounts.models import AdminJournalEntry
from consent.db import db
from consent.webhooks.models import WebhookDelivery
from tests.factories import key_for, staff
from tests.pages.test_admin_pages import _signed_in
from tests.webhooks.conftest import register
from tests.webhooks.receiver import running_receiver


def test_a_test_event_reaches_the_receiver_signed_and_shows_in_the_history(
    app: Flask, runner: FlaskCliRunner, hook_config: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    admin = staff("admin", name="Ada Admin")
    key = key_for(admin, ("webhooks:manage",), days=30)
    db.session.commit()
    with running_receiver() as receiver:
        # Subscribed to withdrawals only: the test event goes to it all the same.
        endpoint = register(app.test_client(), key, receiver.url, ["consent.withdrawn"])
        page = _signed_in(app, admin.id)
        sent = page.post(f"/admin/operations/webhooks/{endpoint['id']}/test")
        assert sent.status_code == 302 and sent.location.endswith("/admin/operations/webhooks")
        history = page.get("/admin/operations/webhooks").get_data(as_text=True)
        assert "A test event is on its way" in history
        assert re.search(r"<td>webhook\.test</td>.*?<td>pending</td>", history, re.S)

        result = runner.invoke(args=["deliver"])
        assert result.exit_code == 0, result.output
        (received,) = receiver.wait_for(1)

    body = Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert body["type"] == "webhook.test"
    assert body["data"] == {"endpoint_id": endpoint["id"]}
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert received.headers["webhook-id"] == delivery.id
    assert json.loads(received.body)["type"] == "webhook.test"
    db.session.expire_all()
    assert db.session.get_one(WebhookDelivery, delivery.id).state == "delivered"
    history = page.get("/admin/operations/webhooks").get_data(as_text=True)
    assert re.search(
        r"<td>webhook\.test</td>.*?<td>delivered</td><td>1</td>\s*<td>200", history, re.S
    )
    journal = db.session.scalars(select(AdminJournalEntry)).all()
    assert [(e.account_id, e.action, e.object_id) for e in journal][-1] == (
        admin.id,
        "webhook_endpoint.test_event",
        endpoint["id"],
    )


def test_another_teams_endpoint_is_not_found_and_a_clinician_is_refused(
    app: Flask, hook_config: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    theirs = staff("admin", team_slug="ward-b")
    key = key_for(theirs, ("webhooks:manage",), team_slug="ward-b", days=30)
    ours, clinician = staff("admin"), staff()
    db.session.commit()
    endpoint = register(app.test_client(), key, "https://publisher.example/hooks")
    url = f"/admin/operations/webhooks/{endpoint['id']}/test"
    assert _signed_in(app, ours.id).post(url).status_code == 404
    assert _signed_in(app, clinician.id).post(url).status_code == 403
    assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_the_button_needs_the_csrf_token(app: Flask, hook_config: object) -> None:
    admin = staff("admin")
    key = key_for(admin, ("webhooks:manage",), days=30)
    db.session.commit()
    endpoint = register(app.test_client(), key, "https://publisher.example/hooks")
    refused = _signed_in(app, admin.id).post(f"/admin/operations/webhooks/{endpoint['id']}/test")
    assert refused.status_code == 400
    assert db.session.scalars(select(WebhookDelivery)).all() == []
