"""The ISO/IEC TS 27560 record of a consent: every mandatory field filled from the receipts,
its events as the log records them, and no identity."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

from consent.consents.models import Consent
from consent.db import db
from tests.factories import Flow, admin_key, api_key, auth, photo

NAME, BIRTH, RECORD = "Bartholomew Inkpen", "1955-02-03", "MRN-ISO-2207"
MANDATORY = (
    "record_id", "pii_principal_id", "notice", "presented_language", "purposes", "controllers",
    "retention", "jurisdiction", "withdrawal", "events", "legal_basis", "pii_categories",
    "consent_type", "collection_method", "state",
)  # fmt: skip


SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas/api/iso27560-record.schema.json").read_text()
)
CHECK = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def record(flow: Flow, consent_id: str) -> dict[str, Any]:
    response = flow.client.get(
        f"/api/v1/consents/{consent_id}/record",
        query_string={"format": "iso27560"},
        headers=flow.headers,
    )
    assert response.status_code == 200, response.json
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in CHECK.iter_errors(response.json)]
    assert not errors, errors
    return dict(response.json)


def test_the_record_carries_the_mandatory_fields_from_the_receipt(flow: Flow) -> None:
    patient_id = flow.patient(RECORD, name=NAME, birth_date=BIRTH)
    given = flow.consent(
        photo(401),
        {"teaching": True, "professional_network": False},
        channels={"professional_network": ["linkedin"]},
        patient_id=patient_id,
    )
    consent_id = given["consent_id"]
    receipt = given["receipt"]["receipt"]
    found = record(flow, consent_id)
    assert all(found[name] not in (None, "", [], {}) for name in MANDATORY)
    assert found["record_id"] == consent_id
    assert found["pii_principal_id"] == patient_id
    assert found["notice"]["sha256"] == receipt["form"]["sha256"]
    assert found["notice"]["version"] == receipt["form"]["version"]
    assert found["presented_language"] == "en"
    assert found["controllers"][0]["name"] == receipt["controller"]
    assert found["jurisdiction"] == receipt["jurisdiction"] == "FR"
    assert found["retention"]["until"] == receipt["expires_at"]
    assert [(p["purpose"], p["state"], p["channels"]) for p in found["purposes"]] == [
        ("teaching", "granted", []),
        ("professional_network", "refused", ["linkedin"]),
    ]
    assert found["pii"] == [
        {"sha256": given["media"]["sha256"], "media_type": "image/jpeg",
         "size": receipt["media"][0]["size"]}
    ]  # fmt: skip
    assert found["events"] == [
        {"type": "given", "at": receipt["issued_at"], "receipt_id": consent_id,
         "log_index": receipt["log_index"]}
    ]  # fmt: skip
    stored = db.session.get(Consent, consent_id)
    assert found["proof"]["receipt_sha256"] == hashlib.sha256(stored.receipt).hexdigest()
    assert found["state"] == "active"
    # The schema is not vacuous: a record that names the patient does not validate.
    assert not CHECK.is_valid({**found, "pii_principal_name": NAME})
    assert not CHECK.is_valid({**found, "state": "maybe"})
    text = str(found)
    assert NAME not in text and BIRTH not in text and RECORD not in text


def test_withdrawal_and_erasure_are_events_of_the_record(flow: Flow) -> None:
    patient_id = flow.patient()
    given = flow.consent(photo(402), {"teaching": True, "survey": True}, patient_id=patient_id)
    consent_id = given["consent_id"]
    withdrawn = flow.client.post(
        f"/api/v1/consents/{consent_id}/withdrawal",
        json={"purposes": ["survey"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201
    found = record(flow, consent_id)
    assert found["state"] == "active"
    assert [e["type"] for e in found["events"]] == ["given", "withdrawn"]
    assert found["events"][1]["purposes"] == ["survey"]
    assert found["events"][1]["receipt_id"] == withdrawn.json["withdrawal_id"]
    erased = flow.client.post(f"/api/v1/patients/{patient_id}/erasure", headers=auth(admin_key()))
    assert erased.status_code == 201
    found = record(flow, consent_id)
    assert found["state"] == "erased"
    assert [e["type"] for e in found["events"]] == ["given", "withdrawn", "withdrawn", "erased"]
    assert found["events"][-1]["receipt_id"] == erased.json["erasure_id"]
    assert {p["state"] for p in found["purposes"]} == {"withdrawn"}


def test_an_unknown_format_is_a_clear_400(flow: Flow) -> None:
    consent_id = flow.consent(photo(403), {"teaching": True})["consent_id"]
    for query in ({}, {"format": "kantara"}, {"format": "ISO27560"}):
        response = flow.client.get(
            f"/api/v1/consents/{consent_id}/record", query_string=query, headers=flow.headers
        )
        assert response.status_code == 400
        assert response.json["errors"] == {"format": ["One of iso27560."]}
    missing = flow.client.get(
        "/api/v1/consents/cs_nope/record?format=iso27560", headers=flow.headers
    )
    assert missing.status_code == 404
