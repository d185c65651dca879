"""The whole loop a hospital relies on: request, decision, verify, withdraw, expiry, and the
perceptual fallback for re-encoded copies. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent import clock
from consent.accounts.models import Account
from consent.crypto.receipts import verify_envelope
from consent.db import db
from consent.forms.catalogue import render_text
from consent.forms.models import FormVersion
from consent.web.context import runtime
from tests.factories import Flow, api_key, photo, reencode

PURPOSE_CHOICES = {"teaching": True, "public_social_network": True, "survey": False}


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def decision(answer_envelope: dict[str, Any]) -> str:
    verify_envelope(envelope=answer_envelope, body_key="answer", keys=runtime().keyring)
    return str(answer_envelope["answer"]["decision"])


def test_granted_use_is_allowed_and_answer_is_signed(flow: Flow) -> None:
    given = flow.consent(
        photo(1), PURPOSE_CHOICES, channels={"public_social_network": ["linkedin"]}
    )
    sha = given["media"]["sha256"]
    answer = flow.verify(sha, "public_social_network", "linkedin")
    assert decision(answer) == "allowed"
    body = answer["answer"]
    assert body["match"] == {"kind": "exact"}
    assert body["consent_id"] == given["consent_id"]
    assert body["grants"] == [{"purpose": "public_social_network", "channels": ["linkedin"]}]
    assert body["media_sha256"] == sha


def test_refused_unasked_and_other_channel_are_not_covered(flow: Flow) -> None:
    given = flow.consent(
        photo(2), PURPOSE_CHOICES, channels={"public_social_network": ["linkedin"]}
    )
    sha = given["media"]["sha256"]
    assert decision(flow.verify(sha, "survey")) == "not_covered"  # refused
    assert decision(flow.verify(sha, "journal_publication")) == "not_covered"  # never asked
    assert decision(flow.verify(sha, "public_social_network", "facebook")) == "not_covered"
    # A caller that does not say where it posts is not covered by a channel-limited grant.
    assert decision(flow.verify(sha, "public_social_network")) == "not_covered"
    assert decision(flow.verify(sha, "teaching", "anything")) == "allowed"


def test_withdrawal_flips_verify_to_withdrawn_for_those_uses_only(flow: Flow) -> None:
    given = flow.consent(photo(3), PURPOSE_CHOICES)
    sha = given["media"]["sha256"]
    response = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    assert response.status_code == 201, response.json
    envelope = response.json["receipt"]
    body = verify_envelope(envelope=envelope, body_key="receipt", keys=runtime().keyring).body
    assert body["type"] == "withdrawal" and body["purposes"] == ["teaching"]
    assert body["consent_id"] == given["consent_id"]
    assert decision(flow.verify(sha, "teaching")) == "withdrawn"
    assert decision(flow.verify(sha, "public_social_network")) == "allowed"
    # Then the rest, with no purposes named.
    response = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201
    assert decision(flow.verify(sha, "public_social_network")) == "withdrawn"
    # Nothing left: a third withdrawal is a conflict, not a silent success.
    response = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 409


def test_past_expiry_verify_says_expired(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    given = flow.consent(photo(4), PURPOSE_CHOICES)
    sha = given["media"]["sha256"]
    assert decision(flow.verify(sha, "teaching")) == "allowed"
    later = clock.now() + timedelta(days=366)
    monkeypatch.setattr(clock, "now", lambda: later)
    answer = flow.verify(sha, "teaching")
    assert decision(answer) == "expired"
    assert answer["answer"]["grants"] == []


def test_reencoded_and_resized_copy_matches_perceptually(flow: Flow) -> None:
    original = photo(5, size=(1200, 900))
    flow.consent(original, PURPOSE_CHOICES)
    copy = reencode(original, quality=70, scale=0.5)
    answer = flow.verify_upload(copy, "teaching")
    assert decision(answer) == "allowed"
    match = answer["answer"]["match"]
    assert match["kind"] == "perceptual"
    assert 0 <= match["distance"] <= 6
    # The answer names the uploaded file's own hash, never claiming an exact match.
    import hashlib

    assert answer["answer"]["media_sha256"] == hashlib.sha256(copy).hexdigest()


def test_exact_upload_is_an_exact_match(flow: Flow) -> None:
    original = photo(6)
    flow.consent(original, PURPOSE_CHOICES)
    answer = flow.verify_upload(original, "teaching")
    assert decision(answer) == "allowed"
    assert answer["answer"]["match"] == {"kind": "exact"}


def test_unrelated_image_is_unknown(flow: Flow) -> None:
    flow.consent(photo(7), PURPOSE_CHOICES)
    answer = flow.verify_upload(photo(99), "teaching")
    assert decision(answer) == "unknown"
    assert answer["answer"]["match"] is None and answer["answer"]["consent_id"] is None
    assert decision(flow.verify("0" * 64, "teaching")) == "unknown"


def test_newer_grant_wins_over_older_refusal(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    data = photo(8)
    patient = flow.patient()
    media = flow.media(patient, data)
    first = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    flow.decide(first, {"teaching": False})
    assert decision(flow.verify(media["sha256"], "teaching")) == "not_covered"
    later = clock.now() + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    second = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    flow.decide(second, {"teaching": True})
    assert decision(flow.verify(media["sha256"], "teaching")) == "allowed"


def test_withdrawing_newest_grant_wins_over_older_grant(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = photo(9)
    patient = flow.patient()
    media = flow.media(patient, data)
    first = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    flow.decide(first, {"teaching": True})
    later = clock.now() + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    second = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    newest = flow.decide(second, {"teaching": True})
    response = flow.client.post(
        f"/api/v1/consents/{newest['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201
    answer = flow.verify(media["sha256"], "teaching")
    assert decision(answer) == "withdrawn"
    assert answer["answer"]["consent_id"] == newest["consent_id"]


def test_receipt_binds_form_text_and_media_hashes(flow: Flow, app: Flask) -> None:
    given = flow.consent(photo(10), {"teaching": True, "survey": False})
    receipt = given["receipt"]["receipt"]
    forms = flow.client.get("/api/v1/forms", headers=flow.headers).json["forms"]
    # New requests use the newest version of a form (issue 21: version 3, whose text names
    # only the requested uses): the receipt binds the text shown for teaching then survey, and
    # names the catalogued version's text and those uses, so that it can be rendered again.
    english = next(f for f in forms if f["language"] == "en" and f["version"] == 3)
    definition = json.loads(
        db.session.query(FormVersion)
        .filter_by(form_id="media-publication", version=3, language="en")
        .one()
        .definition
    )
    shown = render_text(definition, {}, ["teaching", "survey"])
    assert "Teaching: " in shown and "Health study: " in shown and "Medical journal" not in shown
    assert receipt["form"] == {
        "id": "media-publication",
        "version": 3,
        "language": "en",
        "sha256": hashlib.sha256(shown.encode()).hexdigest(),
        "version_sha256": english["text_sha256"],
        "purposes": ["teaching", "survey"],
    }
    assert [m["sha256"] for m in receipt["media"]] == [given["media"]["sha256"]]
    assert receipt["media"][0]["phash"] == given["media"]["phash"]
    assert receipt["uses"] == [
        {"purpose": "teaching", "channels": [], "granted": True},
        {"purpose": "survey", "channels": [], "granted": False},
    ]
    assert receipt["subject"] == given["patient_id"]
    # Who informed and who recorded: accounts and the key, never a name as typed.
    clinician = receipt["informed_by"]["clinician"]["account"]
    assert db.session.get_one(Account, clinician).display_name == "Dr Test"
    assert receipt["recorded_by"]["account"] == receipt["recorded_by"]["entered_by"] == clinician
    assert receipt["method"] == "external" and receipt["external_evidence"]["kind"] == "e-signature"
    stored = flow.client.get(
        f"/api/v1/consents/{given['consent_id']}/receipt", headers=flow.headers
    ).json
    assert stored == given["receipt"]


def test_no_identity_in_receipts_or_answers(flow: Flow) -> None:
    patient = flow.patient(record_number="MRN-424242", name="Zoé Identifiable-Name")
    given = flow.consent(photo(11), {"teaching": True}, patient_id=patient)
    answer = flow.verify(given["media"]["sha256"], "teaching")
    for document in (given, answer):
        text = str(document)
        for secret in ("MRN-424242", "Identifiable", "1948-03-09", "wound, day 3"):
            assert secret not in text


def test_legal_representative_signs_without_name_in_receipt(flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(12))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    missing = flow.client.post(
        f"/api/v1/requests/{request_id}/decision",
        json={
            "signer": {"role": "legal_representative"},
            "choices": [{"purpose": "teaching", "granted": True}],
            "method": "tablet",
        },
        headers=flow.headers,
    )
    assert missing.status_code == 422
    given = flow.decide(
        request_id,
        {"teaching": True},
        signer={"role": "legal_representative", "name": "Paul Parent", "relationship": "parent"},
    )
    assert given["receipt"]["receipt"]["signer"] == {
        "role": "legal_representative",
        "relationship": "parent",
    }
    assert "Paul Parent" not in str(given)
