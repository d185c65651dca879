"""The patient's path on the tablet, page by page through the test client (the browser tests
walk the same path in Chromium): single-use link, comprehension check, explicit choices,
drawn signature, the clinician's confirmation, and the summary with the withdrawal code."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from consent import clock
from consent.accounts.models import Account
from consent.consents.models import ConsentRequest
from consent.crypto.receipts import verify_envelope
from consent.db import db
from consent.forms.models import FormVersion
from consent.web.context import runtime
from tests.factories import (
    Flow,
    comprehension_answers,
    consent_of,
    csrf,
    issue_key,
    member,
    photo,
    screen_copy_of,
    shown_code,
    tablet_answers,
)

PASSWORD = "correct horse battery staple"


def strokes(points: int = 40, width: float = 200.0, ms: float = 1200.0) -> str:
    """A signature as signature_pad's toData() gives it: a wavy line with times."""
    return json.dumps(
        [
            {
                "penColor": "#000",
                "points": [
                    {
                        "x": 10 + width * i / points,
                        "y": 50 + 20 * ((i % 6) - 3),
                        "pressure": 0.5,
                        "time": 1_700_000_000_000 + ms * i / points,
                    }
                    for i in range(points)
                ],
            }
        ]
    )


@pytest.fixture
def clinician(app: Flask) -> dict[str, Any]:
    account = member(email="dr.house@hospital.test", display_name="Dr House", role="clinician")
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(name="ehr", scopes=["verify", "consents:write"], days=30, account=account)
    db.session.commit()
    return {"account_id": account.id, "email": account.email, "key": key.secret}


@pytest.fixture
def opened(app: Flask, clinician: dict[str, Any]) -> dict[str, Any]:
    """A request opened through the API, as an integration would, with its signing link."""
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, photo(3))
    created = api.open_request(
        patient,
        [media["id"]],
        [{"purpose": "teaching"}, {"purpose": "public_social_network"}],
        expires_at="2031-01-01T00:00:00Z",
    )
    url = created["signing_url"]
    assert url.startswith("http://consent.test/tablet/s/")
    return {
        "api": api,
        "media": media,
        "request_id": created["id"],
        "path": url[len("http://consent.test") :],
    }


def answer_questions(tablet: FlaskClient, answers: dict[str, str]) -> None:
    """One screen a use, in the request's order; then the summary, confirmed as it is."""
    # Skipping the questions leads back to the first one not answered.
    early = tablet.get("/tablet/choose")
    assert early.status_code == 302 and early.location.endswith("/tablet/question/1")
    for number, answer in enumerate(answers.values(), start=1):
        page = tablet.get(f"/tablet/question/{number}").get_data(as_text=True)
        assert 'aria-pressed="true"' not in page  # nothing answered in advance
        refused = tablet.post(f"/tablet/question/{number}", data={"csrf_token": csrf(page)})
        assert refused.status_code == 422
        sent = tablet.post(
            f"/tablet/question/{number}", data={"csrf_token": csrf(page), "answer": answer}
        )
        assert sent.status_code == 302
    summary = tablet.get("/tablet/choose").get_data(as_text=True)
    assert "1\u00a0January\u00a02031" in summary  # the expiry, in words, unbroken
    confirmed = tablet.post("/tablet/choose", data={"csrf_token": csrf(summary)})
    assert confirmed.status_code == 302 and confirmed.location.endswith("/tablet/who")


def walk_to_signature(tablet: FlaskClient, opened: dict[str, Any]) -> None:
    response = tablet.get(opened["path"])
    assert response.status_code == 302 and response.location.endswith("/tablet/start")
    assert tablet.get("/tablet/start").status_code == 200
    media_page = tablet.get("/tablet/media").get_data(as_text=True)
    assert f"/tablet/media/{opened['media']['id']}" in media_page
    image = tablet.get(f"/tablet/media/{opened['media']['id']}")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    # The same picture as the file that is hashed, made screen-sized (never the original).
    assert screen_copy_of(image.get_data(), photo(3))
    # The twelve sections of the form are read in five pages (issue 21), no more.
    for number in range(1, 6):
        page = tablet.get(f"/tablet/read/{number}").get_data(as_text=True)
        assert f"Step {2 + number} of " in page
    assert tablet.get("/tablet/read/6").status_code == 404
    check = tablet.get("/tablet/check").get_data(as_text=True)
    wrong = tablet.post(
        "/tablet/check",
        data={
            "csrf_token": csrf(check),
            "who_can_see": "a",
            "delete_shared": "a",
            "saying_no": "a",
        },
    )
    assert wrong.status_code == 422
    assert "A public post can reach anyone in the world." in wrong.get_data(as_text=True)
    correct = comprehension_answers()
    right = tablet.post("/tablet/check", data={"csrf_token": csrf(check), **correct})
    assert right.location.endswith("/tablet/question/1")
    answer_questions(tablet, {"teaching": "yes", "public_social_network": "no"})
    who = tablet.get("/tablet/who").get_data(as_text=True)
    assert (
        tablet.post("/tablet/who", data={"csrf_token": csrf(who), "role": "patient"}).status_code
        == 302
    )


def test_patient_path_to_a_confirmed_receipt(
    app: Flask, clinician: dict[str, Any], opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    walk_to_signature(tablet, opened)
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    blank = tablet.post("/tablet/sign", data={"csrf_token": csrf(sign), "signature": ""})
    assert blank.status_code == 422
    dot = tablet.post(
        "/tablet/sign",
        data={"csrf_token": csrf(sign), "signature": strokes(points=3, width=2, ms=20)},
    )
    assert dot.status_code == 422 and "too short to be a signature" in dot.get_data(as_text=True)
    signed = tablet.post("/tablet/sign", data={"csrf_token": csrf(sign), "signature": strokes()})
    assert signed.status_code == 302 and signed.location.endswith("/tablet/wait")
    assert tablet.get("/tablet/status").json == {"confirmed": False}
    # The link is spent: reopening it, here or elsewhere, records nothing.
    assert tablet.get(opened["path"]).status_code == 410
    assert app.test_client().get(opened["path"]).status_code == 410

    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    logged = doctor.post(
        "/clinician/login",
        data={"csrf_token": csrf(login), "email": clinician["email"], "password": PASSWORD},
    )
    assert logged.status_code == 302
    page = doctor.get(f"/clinician/requests/{opened['request_id']}").get_data(as_text=True)
    assert "The patient has signed" in page
    confirmed = doctor.post(
        f"/clinician/requests/{opened['request_id']}/confirm", data={"csrf_token": csrf(page)}
    )
    assert confirmed.status_code == 302

    assert tablet.get("/tablet/status").json == {"confirmed": True}
    done = tablet.get("/tablet/done").get_data(as_text=True)
    code = shown_code(done)
    assert len(code.replace("-", "")) == 20 and len(code.split("-")) == 5
    # The patient's copy goes to their phone; no raw address and no download on the tablet.
    assert "<svg" in done and "Get my receipt on my phone" in done
    assert "http://consent.test/" not in done and " download" not in done
    assert 'action="/tablet/finish"' in done

    api = opened["api"]
    consent_id = consent_of(opened["request_id"])
    envelope = api.client.get(f"/api/v1/consents/{consent_id}/receipt", headers=api.headers).json
    body = verify_envelope(envelope=envelope, body_key="receipt", keys=runtime().keyring).body
    assert body["method"] == "tablet"
    assert body["signature"]["kind"] == "drawn" and len(body["signature"]["strokes_sha256"]) == 64
    # The account that informed the patient and confirmed on the page; the signing session.
    assert body["informed_by"] == {"clinician": {"account": clinician["account_id"]}}
    assert body["recorded_by"] == {"team": body["team"], "account": clinician["account_id"]}
    assert set(body["signing_session"]) == {"link", "issued_at", "submitted_at"}
    sha = opened["media"]["sha256"]
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    assert api.verify(sha, "public_social_network")["answer"]["decision"] == "not_covered"
    public = app.test_client().get(f"/v/{consent_id}").get_data(as_text=True)
    assert "Allowed" in public and "Refused" in public and "Jeanne" not in public


def test_expired_link_shows_a_clear_page(
    app: Flask, opened: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    later = clock.now() + timedelta(minutes=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = app.test_client().get(opened["path"])
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)


def test_link_opened_on_one_tablet_cannot_be_used_on_another(
    app: Flask, opened: dict[str, Any]
) -> None:
    assert app.test_client().get(opened["path"]).status_code == 302
    other = app.test_client().get(opened["path"])
    assert other.status_code == 410 and "another device" in other.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(app: Flask, opened: dict[str, Any]) -> None:
    tablet = app.test_client()
    tablet.get(opened["path"])
    response = tablet.post("/tablet/check", data={"who_can_see": "b"})
    assert response.status_code == 400
    login = app.test_client().post("/clinician/login", data={"email": "x@y.z", "password": "p"})
    assert login.status_code == 400


def test_legal_representative_path_needs_name_and_relationship(
    app: Flask, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    walk_to_signature(tablet, opened)
    who = tablet.get("/tablet/who").get_data(as_text=True)
    missing = tablet.post(
        "/tablet/who", data={"csrf_token": csrf(who), "role": "legal_representative"}
    )
    assert missing.status_code == 422
    ok = tablet.post(
        "/tablet/who",
        data={
            "csrf_token": csrf(who),
            "role": "legal_representative",
            "name": "Paul Parent",
            "relationship": "parent",
        },
    )
    assert ok.status_code == 302


def test_representative_form_is_signed_by_a_representative(
    app: Flask, clinician: dict[str, Any]
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, photo(4))
    created = api.open_request(
        patient,
        [media["id"]],
        [{"purpose": "teaching"}],
        form="media-publication-representative",
        language="fr",
    )
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    check = tablet.get("/tablet/check").get_data(as_text=True)
    answers = comprehension_answers("media-publication-representative", "fr")
    assert (
        tablet.post("/tablet/check", data={"csrf_token": csrf(check), **answers}).status_code == 302
    )
    tablet_answers(tablet, {"teaching": "yes"})
    who = tablet.get("/tablet/who").get_data(as_text=True)
    assert 'id="role-patient"' not in who
    as_patient = tablet.post("/tablet/who", data={"csrf_token": csrf(who), "role": "patient"})
    assert as_patient.status_code == 422


def test_language_switch_returns_to_the_page_it_was_made_on(app: Flask) -> None:
    client = app.test_client()
    token = csrf(client.get("/clinician/login").get_data(as_text=True))
    back = client.post(
        "/clinician/language", data={"csrf_token": token, "lang": "fr", "next": "/v/cs_" + "0" * 32}
    )
    assert back.status_code == 302 and back.location.endswith("/v/cs_" + "0" * 32)
    away = client.post(
        "/clinician/language", data={"csrf_token": token, "lang": "fr", "next": "//evil.example/"}
    )
    assert away.location.endswith("/clinician/")


def test_pages_answer_errors_in_html_and_the_api_in_json(app: Flask) -> None:
    client = app.test_client()
    page = client.post("/tablet/check", data={"who_can_see": "b"})  # no CSRF token
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "Nothing was recorded" in page.get_data(as_text=True)
    missing = client.get("/clinician/requests/rq_nope", follow_redirects=False)
    assert missing.status_code in (302, 404)  # log-in first
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.is_json


def test_clinician_log_in_expires(app: Flask, clinician: dict[str, Any]) -> None:
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    response = doctor.post(
        "/clinician/login",
        data={"csrf_token": csrf(login), "email": clinician["email"], "password": PASSWORD},
    )
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie


def test_language_switch_keeps_the_place_and_switches_the_form_text(
    app: Flask, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    tablet.get(opened["path"])
    page = tablet.get("/tablet/read/3").get_data(as_text=True)
    assert 'lang="en"' in page
    # The switch on the page itself comes back to this page (the walk found it sent to step 1).
    assert '<input type="hidden" name="next" value="/tablet/read/3">' in page
    switched = tablet.post(
        "/tablet/language", data={"csrf_token": csrf(page), "lang": "fr", "next": "/tablet/read/3"}
    )
    assert switched.status_code == 302 and switched.location.endswith("/tablet/read/3")
    french = tablet.get("/tablet/read/3").get_data(as_text=True)
    assert "Étape 5 sur" in french  # the interface
    assert '<div class="form-text" lang="fr"' in french  # and the form text itself
    # The patient signs what they read: the French text, in the receipt.
    check = tablet.get("/tablet/check").get_data(as_text=True)
    answers = comprehension_answers("media-publication", "fr")
    tablet.post("/tablet/check", data={"csrf_token": csrf(check), **answers})
    tablet_answers(tablet, {"teaching": "yes", "public_social_network": "no"})
    request_row = db.session.get(ConsentRequest, opened["request_id"])
    db.session.refresh(request_row)
    form = db.session.get(FormVersion, request_row.form_version_id)
    assert (form.language, form.version) == ("fr", 3)
    # Off-site targets are not followed.
    away = tablet.post(
        "/tablet/language", data={"csrf_token": csrf(check), "lang": "en", "next": "//evil.test/"}
    )
    assert away.location.endswith("/tablet/start")


@pytest.mark.parametrize(
    ("display_name", "sentence"),
    [
        ("Dr House", "Merci de rendre la tablette au Dr House, qui confirmera"),
        ("Marie Curie", "Merci de rendre la tablette à Marie Curie, qui confirmera"),
    ],
)
def test_the_french_waiting_page_names_the_clinician_as_french_does(
    app: Flask, clinician: dict[str, Any], opened: dict[str, Any], display_name: str, sentence: str
) -> None:
    """ "au Dr X" but "à Marie X" (the walk in French found "à Dr Demo")."""
    account = db.session.get(Account, clinician["account_id"])
    account.display_name = display_name
    db.session.commit()
    tablet = app.test_client()
    walk_to_signature(tablet, opened)
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    tablet.post("/tablet/sign", data={"csrf_token": csrf(sign), "signature": strokes()})
    page = tablet.get("/tablet/wait").get_data(as_text=True)
    switched = tablet.post(
        "/tablet/language", data={"csrf_token": csrf(page), "lang": "fr", "next": "/tablet/wait"}
    )
    assert switched.location.endswith("/tablet/wait")
    french = tablet.get("/tablet/wait").get_data(as_text=True)
    assert sentence in french
    assert "expliqué le formulaire" in french
