"""Publishers hear of a consent with case texts by their hashes too, at creation and withdrawal
(issue 20); payloads of consents without texts keep their shape."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import select

from consent.consents.text_norm import text_sha256
from consent.db import db
from consent.webhooks.models import WebhookDelivery
from tests.factories import Flow, admin_key, photo
from tests.interop.test_api_schemas import WEBHOOK, valid
from tests.texts.test_case_texts import CASE


def test_created_and_withdrawn_events_carry_the_text_hashes(client: FlaskClient) -> None:
    flow = Flow(client, admin_key(("webhooks:manage", "consents:write")))
    endpoint = client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://publisher.example/hooks",
            "events": ["consent.created", "consent.withdrawn"],
        },
        headers=flow.headers,
    )
    assert endpoint.status_code == 201, endpoint.json
    patient = flow.patient()
    media = flow.media(patient, photo(81))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}], texts=[CASE])
    consent_id = flow.decide(request_id, {"teaching": True})["consent_id"]
    flow.consent(photo(82), {"teaching": True})  # without texts
    withdrawn = client.post(
        f"/api/v1/consents/{consent_id}/withdrawal", json={}, headers=flow.headers
    )
    assert withdrawn.status_code == 201
    payloads = [json.loads(p) for p in db.session.scalars(select(WebhookDelivery.payload))]
    for payload in payloads:
        valid(WEBHOOK, payload)
    with_texts = [p for p in payloads if "text_sha256" in json.dumps(p)]
    assert len(with_texts) == 2
    assert all(text_sha256(CASE) in json.dumps(p) for p in with_texts)
    assert len(payloads) == 3
