"""Case texts in a request (issue 20): bound by their normalised hash in the receipt, kept
sealed, immutable; verify answers exact, edited (modified) and unknown texts; screening refuses
a subject's name for a public use unless confirmed, and never returns an identity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.consents.models import CaseText, Consent
from consent.consents.text_norm import normalise, text_sha256
from consent.db import db
from consent.verify.texts import decide_text
from consent.web.context import runtime
from tests.factories import Flow, api_key, auth, photo
from tests.interop.test_api_schemas import ANSWER, RECEIPT, valid

CASE = (
    "A man in his fifties came to the emergency department with chest pain that had lasted "
    "three days. The scan showed an aortic dissection of type A. He was operated on the same "
    "night and went home after two weeks without complications."
)
EDITED = (
    "A man in his fifties came to the emergency department with chest pain that had lasted "
    "three days. The scan showed an aortic dissection type A. He was operated the same night "
    "and went home after two weeks."
)
UNRELATED = (
    "A woman of thirty came to the clinic with a rash that appeared after a trip abroad; the "
    "skin biopsy showed a drug reaction and the rash cleared after the drug was stopped."
)


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key(("consents:write", "verify")))


def _consent_with_text(flow: Flow, texts: list[str], **overrides: Any) -> dict[str, Any]:
    patient_id = flow.patient()
    media = flow.media(patient_id, photo(11))
    uses = [{"purpose": "teaching", "channels": []}]
    request_id = flow.request(patient_id, [media["id"]], uses, texts=texts, **overrides)
    decision = flow.decide(request_id, {"teaching": True})
    decision["request_id"] = request_id
    return decision


def _verify_text(flow: Flow, text: str, purpose: str = "teaching") -> dict[str, Any]:
    response = flow.client.post(
        "/api/v1/verify/text", json={"text": text, "purpose": purpose}, headers=flow.headers
    )
    assert response.status_code == 200, response.json
    return dict(response.json["answer"])


def test_normalisation_folds_composition_line_endings_and_spaces() -> None:
    composed, decomposed = "Caf\u00e9  du\r\nport ", "Cafe\u0301 du\nport"
    assert normalise(composed) == normalise(decomposed) == "Caf\u00e9 du\nport"
    assert text_sha256(composed) == text_sha256(decomposed)
    assert text_sha256("Café du port") != text_sha256("café du port")


def test_receipt_binds_each_text_by_its_normalised_hash_and_keeps_it_sealed(flow: Flow) -> None:
    decision = _consent_with_text(flow, [CASE + "  ", "Second text,\r\nshort."])
    body = json.loads(db.session.get_one(Consent, decision["consent_id"]).receipt)
    assert body["texts"] == [
        {"sha256": text_sha256(CASE), "characters": len(CASE)},
        {"sha256": text_sha256("Second text,\nshort."), "characters": 19},
    ]
    rows = db.session.scalars(select(CaseText)).all()
    assert all(b"aortic" not in row.text_sealed for row in rows)


def test_receipt_without_texts_has_no_texts_field(flow: Flow) -> None:
    decision = flow.consent(photo(12), {"teaching": True})
    body = json.loads(db.session.get_one(Consent, decision["consent_id"]).receipt)
    assert "texts" not in body


def test_verify_text_exact_match_is_allowed_then_withdrawn(flow: Flow) -> None:
    decision = _consent_with_text(flow, [CASE])
    answer = _verify_text(flow, CASE.replace(" ", "  "))
    assert answer["decision"] == "allowed"
    assert answer["match"] == {"kind": "exact"}
    assert answer["consent_id"] == decision["consent_id"]
    assert _verify_text(flow, CASE, "survey")["decision"] == "not_covered"
    response = flow.client.post(
        f"/api/v1/consents/{decision['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201
    assert _verify_text(flow, CASE)["decision"] == "withdrawn"
    assert _verify_text(flow, EDITED)["decision"] == "withdrawn"


def test_edited_text_is_modified_never_allowed(flow: Flow) -> None:
    _consent_with_text(flow, [CASE])
    answer = _verify_text(flow, EDITED)
    assert answer["decision"] == "modified"
    assert answer["match"]["kind"] == "near"
    assert 0 < answer["match"]["similarity"] < 1
    assert answer["grants"] == []


def test_unrelated_text_is_unknown(flow: Flow) -> None:
    _consent_with_text(flow, [CASE])
    answer = _verify_text(flow, UNRELATED)
    assert answer["decision"] == "unknown"
    assert answer["match"] is None and answer["consent_id"] is None


def test_subject_name_for_public_use_refused_without_confirmation(flow: Flow) -> None:
    patient_id = flow.patient(name="Hélène Dubois-Martel")
    media = flow.media(patient_id, photo(13))
    text = "Mme helene DUBOIS, 54 ans, vue pour une dissection aortique."
    body = {
        "patient_id": patient_id,
        "media_ids": [media["id"]],
        "form": "media-publication",
        "language": "en",
        "uses": [{"purpose": "public_social_network", "channels": []}],
        "expires_at": "2030-01-01T00:00:00Z",
        "texts": [text],
    }
    refused = flow.client.post("/api/v1/requests", json=body, headers=flow.headers)
    assert refused.status_code == 422
    assert "Dubois" not in refused.get_data(as_text=True)
    assert "helene" not in refused.get_data(as_text=True).casefold()
    findings = refused.json["errors"]["texts.0"]
    assert {(f["kind"], f["start"], f["end"]) for f in findings} == {
        ("subject_name", 4, 10),
        ("subject_name", 11, 17),
    }
    assert db.session.scalars(select(CaseText)).all() == []
    confirmed = flow.client.post(
        "/api/v1/requests", json={**body, "confirm_identifiers": True}, headers=flow.headers
    )
    assert confirmed.status_code == 201
    row = db.session.scalars(select(CaseText)).one()
    assert row.identifiers_confirmed and row.confirmed_by is not None


def test_screen_text_names_kinds_and_offsets_never_the_identity(flow: Flow) -> None:
    decision = _consent_with_text(flow, [CASE])
    text = "Jeanne Martin, MRN on file, phone 06 12 34 56 78, seen on 3 mars 2024."
    response = flow.client.post(
        "/api/v1/screen/text",
        json={"text": text, "consent_id": decision["consent_id"]},
        headers=flow.headers,
    )
    assert response.status_code == 200
    kinds = {(f["kind"], text[f["start"] : f["end"]]) for f in response.json["findings"]}
    assert ("subject_name", "Jeanne") in kinds and ("subject_name", "Martin") in kinds
    assert ("phone", "06 12 34 56 78") in kinds and ("date", "3 mars 2024") in kinds
    assert "Jeanne" not in json.dumps(response.json)


def test_screen_text_with_another_teams_consent_is_404(flow: Flow, client: FlaskClient) -> None:
    decision = _consent_with_text(flow, [CASE])
    other = auth(api_key(("verify",), team="other-ward"))
    response = client.post(
        "/api/v1/screen/text",
        json={"text": "x", "consent_id": decision["consent_id"]},
        headers=other,
    )
    assert response.status_code == 404


def test_text_receipts_and_answers_follow_the_published_schemas(flow: Flow) -> None:
    decision = _consent_with_text(flow, [CASE])
    receipt = flow.client.get(
        f"/api/v1/consents/{decision['consent_id']}/receipt", headers=flow.headers
    )
    assert "texts" in receipt.json["receipt"]
    valid(RECEIPT, receipt.json)
    for text in (CASE, EDITED, UNRELATED):
        response = flow.client.post(
            "/api/v1/verify/text", json={"text": text, "purpose": "teaching"}, headers=flow.headers
        )
        valid(ANSWER, response.json)


def test_an_expired_consent_answers_expired_for_its_text_and_its_edits(flow: Flow) -> None:
    _consent_with_text(flow, [CASE], expires_at="2027-06-30T00:00:00Z")
    later = datetime(2028, 1, 1, tzinfo=UTC)
    for text, decision in ((CASE, "expired"), (EDITED, "expired"), (UNRELATED, "unknown")):
        answer = decide_text(
            text=text,
            purpose="teaching",
            channel=None,
            engine=db.engine,
            keyring=runtime().keyring,
            now=later,
        )
        assert answer.answer["decision"] == decision


def test_a_tampered_text_row_never_verifies_as_allowed(flow: Flow) -> None:
    decision = _consent_with_text(flow, [CASE])
    row = db.session.scalars(select(CaseText)).one()
    # An attacker with the database points the row at another text's hash.
    row.sha256 = text_sha256(UNRELATED)
    db.session.commit()
    response = flow.client.post(
        "/api/v1/verify/text", json={"text": UNRELATED, "purpose": "teaching"}, headers=flow.headers
    )
    assert response.status_code != 200 or response.json["answer"]["decision"] != "allowed"
    assert decision["consent_id"]
