"""Text that is not text (a lone surrogate, a control character, CR/LF where a header may be
built from it) is refused with 422 in the one error shape at every entry point, and nothing is
stored: one API call once broke the clinician's dashboard for every clinician."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from consent.db import db
from tests.factories import CSRF, Flow, auth, issue_key, member, photo
from tests.test_errors import assert_error_shape, snapshot

PASSWORD = "correct horse battery staple"


@pytest.fixture
def doctor(app: Flask) -> dict[str, Any]:
    account = member(email="dr.text@hospital.test", display_name="Dr Text", role="clinician")
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(name="ehr", scopes=["verify", "consents:write"], days=30, account=account)
    db.session.commit()
    return {"email": account.email, "key": key.secret}


def logged_in(app: Flask, doctor: dict[str, Any]) -> FlaskClient:
    client = app.test_client()
    token = CSRF.search(client.get("/clinician/login").get_data(as_text=True))
    assert token
    response = client.post(
        "/clinician/login",
        data={"csrf_token": token.group(1), "email": doctor["email"], "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


# JSON bodies written by hand: the JSON escape of a lone surrogate, as an attacker sends it.
SURROGATE_BODIES = [
    '{"record_number": "MRN1", "name": "Jeanne \\ud800", "birth_date": "1948-03-09"}',
    '{"record_number": "MRN\\udfff", "name": "Jeanne", "birth_date": "1948-03-09"}',
    '{"record_number": "MRN2", "name": "Jeanne\\u0000", "birth_date": "1948-03-09"}',
    '{"record_number": "MRN3", "name": "Jeanne\\u001b[31m", "birth_date": "1948-03-09"}',
    '{"record_number": "MRN4", "name": "Jeanne", "birth_date": "1948-03-09", "\\ud800": 1}',
]


@pytest.mark.parametrize("body", SURROGATE_BODIES)
def test_a_lone_surrogate_or_control_character_in_json_is_refused_and_staff_pages_still_render(
    app: Flask, doctor: dict[str, Any], body: str
) -> None:
    client = app.test_client()
    before = snapshot()
    response = client.post(
        "/api/v1/patients",
        data=body,
        content_type="application/json",
        headers=auth(doctor["key"]),
    )
    assert_error_shape(response, 422)
    assert snapshot() == before
    assert logged_in(app, doctor).get("/clinician/").status_code == 200


def test_control_characters_in_a_query_string_are_refused(
    app: Flask, doctor: dict[str, Any]
) -> None:
    client = app.test_client()
    for query in ("purpose=teaching%0d%0aX-Injected:%201", "purpose=teach%00ing", "x%0a=1"):
        response = client.get(
            f"/api/v1/verify?sha256={'0' * 64}&{query}", headers=auth(doctor["key"])
        )
        body = assert_error_shape(response, 422)
        assert any(place.startswith("query.") for place in body["errors"]), body


def test_cr_lf_in_next_on_the_tablet_language_switch_is_not_a_500(app: Flask) -> None:
    client = app.test_client()
    token = CSRF.search(client.get("/withdraw").get_data(as_text=True))
    assert token
    for where in ("/tablet/language", "/withdraw/language"):
        response = client.post(
            where,
            data={
                "csrf_token": token.group(1),
                "lang": "fr",
                "next": where.rsplit("/", 1)[0] + "/start\r\nSet-Cookie: evil=1",
            },
        )
        assert response.status_code in (302, 422), response.status_code
        assert "evil" not in str(response.headers)
        if response.status_code == 302:
            assert "\n" not in response.location


def test_control_characters_in_a_page_form_are_refused_and_nothing_is_stored(
    app: Flask, doctor: dict[str, Any]
) -> None:
    client = logged_in(app, doctor)
    page = client.get("/clinician/patients/new").get_data(as_text=True)
    token = CSRF.search(page)
    assert token
    before = snapshot()
    response = client.post(
        "/clinician/patients/new",
        data={
            "csrf_token": token.group(1),
            "record_number": "MRN77",
            "name": "Jeanne\x00\x1b",
            "birth_date": "1948-03-09",
        },
    )
    assert response.status_code == 422
    assert snapshot() == before
    assert client.get("/clinician/").status_code == 200


@pytest.mark.parametrize(
    ("value", "file_name"),
    [
        ("teaching\x00", "photo.jpg"),
        ("teaching", "photo\x1b[2J.jpg"),
        ("teaching", "photo\r\n.jpg"),
    ],
    ids=["multipart field", "file name with an escape", "file name with CR/LF"],
)
def test_control_characters_in_multipart_fields_and_file_names_are_refused(
    app: Flask, doctor: dict[str, Any], value: str, file_name: str
) -> None:
    client = app.test_client()
    patient = Flow(client, doctor["key"]).patient()
    before = snapshot()
    for path, fields in (
        ("/api/v1/media", {"patient_id": patient, "description": "Left hand " + value}),
        ("/api/v1/verify", {"purpose": value}),
    ):
        response = client.post(
            path,
            data={**fields, "file": (io.BytesIO(photo(8)), file_name)},
            headers=auth(doctor["key"]),
        )
        assert_error_shape(response, 422)
    assert snapshot() == before
