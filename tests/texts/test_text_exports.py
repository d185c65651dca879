"""FHIR R4/R5 and the ISO/IEC TS 27560 record name the case texts by hash (issue 20)."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from consent.consents.text_norm import text_sha256
from tests.factories import Flow, api_key, photo
from tests.interop.test_fhir import fhir
from tests.interop.test_iso27560 import record
from tests.texts.test_case_texts import CASE


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def test_exports_name_each_text_by_its_hash_never_its_words(flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(51))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}], texts=[CASE])
    consent_id = flow.decide(request_id, {"teaching": True})["consent_id"]
    for version in ("R4", "R5"):
        resource = fhir(flow, consent_id, version)
        assert text_sha256(CASE) in json.dumps(resource)
        assert "aortic" not in json.dumps(resource)
    iso = record(flow, consent_id)
    assert {
        "sha256": text_sha256(CASE),
        "media_type": "text/plain",
        "characters": len(CASE),
    } in iso["pii"]
    assert "case texts written about the person" in iso["pii_categories"]
