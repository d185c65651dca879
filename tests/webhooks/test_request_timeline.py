"""The request page's timeline ("What happened") tells the clinician about the copies made
of the photos and about the publishers' systems: a webhook delivered, one that failed for
good, one still waiting. Deliveries go to real receivers through the `deliver` command."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from consent.consents.models import Consent
from consent.db import db
from tests.conftest import LiveSettings
from tests.factories import Flow, key_for, photo, staff
from tests.pages.test_admin_pages import _signed_in
from tests.webhooks.conftest import register
from tests.webhooks.receiver import running_receiver


def _history(page: str) -> list[str]:
    """The timeline's lines, as plain text."""
    part = page[page.index('id="request-history"') :]
    part = part[: part.index("</ol>")]
    return [re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in part.split("<li")[1:]]


def test_the_timeline_shows_copies_and_webhooks_delivered_failed_and_waiting(
    app: Flask,
    runner: FlaskCliRunner,
    hook_config: LiveSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook_config["CONSENT_WEBHOOK_MAX_ATTEMPTS"] = 1  # one failure and the delivery is dead
    admin = staff("admin", name="Dr Admin")
    key = key_for(admin, ("consents:write", "webhooks:manage"), days=30)
    db.session.commit()
    flow = Flow(app.test_client(), key)
    with running_receiver() as fine, running_receiver(script=[500]) as broken:
        register(flow.client, key, fine.url, ["consent.created"])
        register(flow.client, key, broken.url, ["consent.created"])
        decision = flow.consent(photo(94), {"teaching": True})
        request_id = db.session.get_one(Consent, decision["consent_id"]).request_id
        page = _signed_in(app, admin.id)
        before = _history(page.get(f"/clinician/requests/{request_id}").get_data(as_text=True))
        assert sum("webhook waiting" in line for line in before) == 2
        assert not any("copy made" in line for line in before)

        result = runner.invoke(args=["deliver"])
        assert result.exit_code == 0, result.output
        fine.wait_for(1)
        broken.wait_for(1)
    copy = flow.client.post(
        f"/api/v1/media/{decision['media']['id']}/publishable", headers=flow.headers
    )
    assert copy.status_code == 200, copy.json

    after = _history(page.get(f"/clinician/requests/{request_id}").get_data(as_text=True))
    assert sum("webhook delivered" in line for line in after) == 1
    assert sum("webhook failed" in line for line in after) == 1
    assert not any("webhook waiting" in line for line in after)
    assert sum("publishable copy made" in line for line in after) == 1
    # The copy came last, and the timeline is in time order.
    assert "publishable copy made" in after[-1]
