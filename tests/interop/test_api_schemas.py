"""The published JSON Schemas in schemas/api/ hold for what the service really sends: every
kind of receipt, a verify answer of each decision, the webhook payloads as enqueued, and the
error answers; and they refuse documents that are wrong, so they are not vacuous."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.consents.uses import PURPOSES
from consent.db import db
from consent.ledger.models import LogLeaf
from consent.verify.service import DECISIONS
from consent.web.verifylimit import EXTENSION as VERIFY_LIMIT
from consent.web.verifylimit import VerifyLimit
from consent.webhooks.models import EVENTS, WebhookDelivery
from tests.factories import Flow, api_key, auth, photo, reencode
from tests.interop.dataset import build
from tests.webhooks.conftest import Clock

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "api"


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


RECEIPT, ANSWER = validator("receipt"), validator("verify-answer")
WEBHOOK, ERROR = validator("webhook-payload"), validator("error")


def valid(check: jsonschema.protocols.Validator, document: Any) -> None:
    errors = sorted(check.iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_the_schemas_name_what_the_code_knows() -> None:
    defs = RECEIPT.schema["$defs"]
    assert defs["purpose"]["enum"] == list(PURPOSES)
    answer = ANSWER.schema["$defs"]["answer"]["properties"]
    assert answer["decision"]["enum"] == list(DECISIONS)
    kinds = [s["$ref"].rsplit("/", 1)[1] for s in WEBHOOK.schema["oneOf"]]
    events = [WEBHOOK.schema["$defs"][k]["properties"]["type"]["const"] for k in kinds]
    assert events == list(EVENTS)


@pytest.fixture
def data(flow: Flow, key: str, moving_clock: Clock) -> Any:
    return build(flow, key, moving_clock)


def test_every_receipt_the_service_wrote_follows_the_receipt_schema(flow: Flow, data: Any) -> None:
    # Every envelope in the log: consents (API, tablet with a drawn signature, paper, by a
    # representative), withdrawals (asked for, and issued by the erasure) and the erasure.
    leaves = db.session.scalars(select(LogLeaf).order_by(LogLeaf.index)).all()
    kinds = {leaf.kind for leaf in leaves}
    assert kinds == {"consent", "withdrawal", "erasure", "rendition"}
    seen = set()
    for leaf in leaves:
        envelope = json.loads(leaf.data)
        valid(RECEIPT, envelope)
        body = envelope["receipt"]
        seen.add((body["type"], body.get("method"), "signature" in body, "paper_scan" in body))
        assert body["receipt_version"] == 2 and body["team"].startswith("tm_")
    assert ("consent", "tablet", True, False) in seen
    assert ("consent", "paper", False, True) in seen
    assert ("consent", "external", False, False) in seen
    # And as the API answers them.
    for envelope in (
        data.answers["decision"]["receipt"],
        data.answers["withdrawal"]["receipt"],
        data.answers["paper"]["receipt"],
        data.answers["erasure"]["receipt"],
    ):
        valid(RECEIPT, envelope)
    for consent_id in data.consents.values():
        response = flow.client.get(f"/api/v1/consents/{consent_id}/receipt", headers=flow.headers)
        valid(RECEIPT, response.json)


def test_a_verify_answer_of_each_decision_follows_the_answer_schema(flow: Flow, data: Any) -> None:
    asked = {
        "allowed": flow.verify(data.media["adult"], "teaching"),
        "not_covered": flow.verify(data.media["adult"], "survey"),
        "withdrawn": flow.verify(data.media["adult"], "public_social_network", "linkedin"),
        "expired": flow.verify(data.media["minor"], "teaching"),
        "unknown": flow.verify("0" * 64, "teaching"),
    }
    for decision, envelope in asked.items():
        assert envelope["answer"]["decision"] == decision
        valid(ANSWER, envelope)
    perceptual = flow.verify_upload(reencode(photo(501), quality=70, scale=0.5), "teaching")
    assert perceptual["answer"]["match"]["kind"] == "perceptual"
    valid(ANSWER, perceptual)
    copy = flow.verify(data.rendition, "teaching")
    assert copy["answer"]["decision"] == "allowed"
    assert copy["answer"]["match"]["rendition_of"] == data.media["paper"]
    valid(ANSWER, copy)


def test_the_webhook_payloads_as_enqueued_follow_the_webhook_schema(data: Any) -> None:
    payloads = [
        json.loads(payload)
        for payload in db.session.scalars(
            select(WebhookDelivery.payload).order_by(WebhookDelivery.created_at)
        )
    ]
    assert {payload["type"] for payload in payloads} == set(EVENTS)
    for payload in payloads:
        valid(WEBHOOK, payload)


def test_error_answers_follow_the_error_schema(flow: Flow, client: FlaskClient, app: Flask) -> None:
    consent_id = flow.consent(photo(510), {"teaching": True})["consent_id"]
    verify_only = auth(api_key(("verify",)))
    answers = {
        400: client.get(f"/api/v1/consents/{consent_id}/fhir?version=R9", headers=flow.headers),
        401: client.get("/api/v1/verify?sha256=" + "0" * 64 + "&purpose=teaching"),
        403: client.post("/api/v1/patients", json={}, headers=verify_only),
        404: client.get("/api/v1/consents/cs_none/receipt", headers=flow.headers),
        405: client.delete("/api/v1/verify", headers=flow.headers),
        415: client.post("/api/v1/patients", data="x", headers=flow.headers),
        422: client.post("/api/v1/patients", json={"name": ""}, headers=flow.headers),
    }
    # A second withdrawal of everything is the 409 (the first one succeeds).
    withdraw = f"/api/v1/consents/{consent_id}/withdrawal"
    assert client.post(withdraw, json={}, headers=flow.headers).status_code == 201
    answers[409] = client.post(withdraw, json={}, headers=flow.headers)
    # A key over its verify limit: 429.
    normal = app.extensions[VERIFY_LIMIT]
    app.extensions[VERIFY_LIMIT] = VerifyLimit("1 per minute")
    try:
        for _ in range(2):
            answers[429] = client.get(
                "/api/v1/verify?sha256=" + "0" * 64 + "&purpose=teaching", headers=verify_only
            )
    finally:
        app.extensions[VERIFY_LIMIT] = normal
    assert answers[429].headers["Retry-After"]
    for status, response in answers.items():
        assert response.status_code == status, (status, response.json)
        valid(ERROR, response.json)
        assert response.json["code"] == status
    assert answers[422].json["errors"]  # the field messages are there


def test_the_schemas_refuse_wrong_documents(flow: Flow) -> None:
    given = flow.consent(photo(511), {"teaching": True})
    envelope = flow.client.get(
        f"/api/v1/consents/{given['consent_id']}/receipt", headers=flow.headers
    ).json
    answer = flow.verify(given["media"]["sha256"], "teaching")
    valid(RECEIPT, envelope)
    valid(ANSWER, answer)

    def refused(check: jsonschema.protocols.Validator, document: Any) -> None:
        assert not check.is_valid(document)

    wrong = copy.deepcopy(envelope)
    wrong["receipt"]["patient_name"] = "Jeanne Martin"  # identity slipped into a receipt
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    wrong["receipt"]["media"][0]["sha256"] = "ABC"
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    del wrong["signature"]
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    wrong["receipt"]["uses"][0]["purpose"] = "advertising"
    refused(RECEIPT, wrong)
    refused(RECEIPT, {})
    # Version 2: each method with its own evidence, the actors as identifiers.
    wrong = copy.deepcopy(envelope)
    wrong["receipt"]["method"] = "tablet"  # claimed, without the signature and the session
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    del wrong["receipt"]["external_evidence"]
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    wrong["receipt"]["informed_by"] = {"clinician": "Dr Anybody"}  # a name as typed
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    del wrong["receipt"]["recorded_by"]
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(envelope)
    wrong["receipt"]["receipt_version"] = 1  # a version 1 receipt had no team
    refused(RECEIPT, wrong)
    wrong = copy.deepcopy(answer)
    wrong["answer"]["method"] = "fax"
    refused(ANSWER, wrong)
    wrong = copy.deepcopy(answer)
    wrong["answer"]["decision"] = "probably"
    refused(ANSWER, wrong)
    wrong = copy.deepcopy(answer)
    wrong["answer"]["grants"] = []  # allowed, yet no grant
    refused(ANSWER, wrong)
    wrong = copy.deepcopy(answer)
    wrong["answer"]["checked_at"] = "yesterday"
    refused(ANSWER, wrong)
    refused(WEBHOOK, {"type": "consent.created", "timestamp": "2026-01-01T00:00:00Z", "data": {}})
    refused(WEBHOOK, {"type": "consent.deleted", "timestamp": "2026-01-01T00:00:00Z", "data": {}})
    refused(ERROR, {"code": "404", "status": "Not Found", "message": "x", "errors": {}})
    refused(ERROR, {"code": 404, "status": "Not Found", "message": "x"})
    refused(ERROR, {"code": 200, "status": "OK", "message": "x", "errors": {}})
