"""A use granted only with the face hidden (issue 19), as every published contract says it: the
receipt and answer schemas, the FHIR export (R4 and R5), the ISO 27560 record, the publisher
client and consent-check's line."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from consent.cli.check_tool import describe
from consent.client import CheckedAnswer
from consent.interop.fhir_codes import FACE_EXTENSION, PURPOSE_SYSTEM, SHA256_SYSTEM
from tests.factories import Flow, api_key
from tests.interop.test_api_schemas import ANSWER, RECEIPT, valid
from tests.interop.test_fhir import fhir
from tests.interop.test_iso27560 import record
from tests.media.test_faces import PUBLIC, _masked_only_consent, astronaut


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


@pytest.fixture
def given(flow: Flow) -> tuple[dict[str, Any], dict[str, Any]]:
    return _masked_only_consent(flow, astronaut())


def _data(provision: dict[str, Any]) -> set[str]:
    return {
        d["reference"]["identifier"]["value"]
        for d in provision.get("data", [])
        if d["reference"]["identifier"]["system"] == SHA256_SYSTEM
    }


def _purpose(provision: dict[str, Any]) -> str:
    return str(next(c["code"] for c in provision["purpose"] if c["system"] == PURPOSE_SYSTEM))


def test_receipt_and_answers_follow_the_schemas(flow: Flow, given: Any) -> None:
    media, decision = given
    valid(RECEIPT, decision["receipt"])
    masked = flow.verify(media["sha256"], PUBLIC)
    valid(ANSWER, masked)
    copy = masked["answer"]["masked_sha256"]
    valid(ANSWER, flow.verify(copy, PUBLIC))


def test_fhir_permits_the_masked_copy_only(flow: Flow, given: Any) -> None:
    media, decision = given
    masked = decision["receipt"]["receipt"]["media"][0]["masked_sha256"]
    r4 = fhir(flow, decision["consent_id"], "R4")
    uses = {_purpose(p): p for p in r4["provision"]["provision"]}
    assert uses[PUBLIC]["type"] == "permit"
    assert _data(uses[PUBLIC]) == {masked}
    assert uses[PUBLIC]["extension"] == [{"url": FACE_EXTENSION, "valueCode": "hidden"}]
    assert _data(uses["teaching"]) == {media["sha256"]}
    r5 = fhir(flow, decision["consent_id"], "R5")
    permits = {_purpose(p): p for p in r5["provision"]}
    assert _data(permits[PUBLIC]) == {masked}
    assert _data(permits["teaching"]) == {media["sha256"]}


def test_the_iso_record_says_face_hidden(flow: Flow, given: Any) -> None:
    media, decision = given
    document = record(flow, decision["consent_id"])
    purposes = {p["purpose"]: p for p in document["purposes"]}
    assert purposes[PUBLIC]["face"] == "hidden"
    assert "face" not in purposes["teaching"]
    masked = decision["receipt"]["receipt"]["media"][0]["masked_sha256"]
    assert document["pii"][0] == {**document["pii"][0], "sha256": media["sha256"]}
    assert document["pii"][0]["masked_sha256"] == masked


def test_client_and_consent_check_name_the_copy_to_publish(flow: Flow, given: Any) -> None:
    media, _decision = given
    signed = flow.verify(media["sha256"], PUBLIC)
    checked = CheckedAnswer(signed["answer"], signed["key_id"])
    assert not checked.allowed
    assert checked.masked_sha256 == signed["answer"]["masked_sha256"]
    line = describe(checked, "photo.jpg")
    assert line.startswith("masked_only: photo.jpg may NOT be published")
    assert checked.masked_sha256 is not None and checked.masked_sha256 in line
