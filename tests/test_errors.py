"""Bad input gets a clear 4xx in the one error shape, and changes nothing in the database."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from consent.db import db
from tests.conftest import LiveSettings
from tests.factories import Flow, api_key, auth, evidence, photo


def snapshot() -> dict[str, int]:
    db.session.expire_all()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def assert_error_shape(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == status and body["message"] and isinstance(body["errors"], dict)
    return dict(body)


@pytest.fixture
def world(client: FlaskClient) -> dict[str, Any]:
    flow = Flow(client, api_key())
    given = flow.consent(photo(1), {"teaching": True})
    open_request = flow.request(
        given["patient_id"], [given["media"]["id"]], [{"purpose": "survey"}]
    )
    return {"flow": flow, "given": given, "open_request": open_request}


def _json(client: FlaskClient, key: str, url: str, body: Any) -> TestResponse:
    return client.post(url, json=body, headers=auth(key))


CASES: list[tuple[str, int, Callable[[FlaskClient, dict[str, Any]], TestResponse]]] = [
    (
        "malformed_json",
        400,
        lambda c, w: c.post(
            "/api/v1/patients",
            data='{"name": ',
            headers={**w["flow"].headers, "Content-Type": "application/json"},
        ),
    ),
    (
        "unknown_field",
        422,
        lambda c, w: c.post(
            "/api/v1/patients",
            json={"record_number": "A1", "name": "X", "birth_date": "1990-01-01", "ssn": "1"},
            headers=w["flow"].headers,
        ),
    ),
    (
        "wrong_content_type",
        415,
        lambda c, w: c.post(
            "/api/v1/patients",
            data="record_number=A1",
            headers={**w["flow"].headers, "Content-Type": "application/x-www-form-urlencoded"},
        ),
    ),
    (
        "bad_hash",
        422,
        lambda c, w: c.get("/api/v1/verify?sha256=XYZ&purpose=teaching", headers=w["flow"].headers),
    ),
    (
        "unknown_purpose",
        422,
        lambda c, w: c.get(
            "/api/v1/verify",
            query_string={"sha256": "a" * 64, "purpose": "advertising"},
            headers=w["flow"].headers,
        ),
    ),
    (
        "unknown_request_id",
        404,
        lambda c, w: c.post(
            "/api/v1/requests/rq_nope/decision",
            json={
                "signer": {"role": "patient"},
                "choices": [{"purpose": "teaching", "granted": True}],
                "method": "external",
                "evidence": evidence(),
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "unknown_consent_id",
        404,
        lambda c, w: c.get("/api/v1/consents/cs_nope/receipt", headers=w["flow"].headers),
    ),
    (
        "unknown_media_in_request",
        404,
        lambda c, w: c.post(
            "/api/v1/requests",
            json={
                "patient_id": w["given"]["patient_id"],
                "media_ids": ["md_nope"],
                "form": "media-publication",
                "language": "en",
                "uses": [{"purpose": "teaching"}],
                "expires_at": "2031-01-01T00:00:00Z",
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "expiry_in_the_past",
        422,
        lambda c, w: c.post(
            "/api/v1/requests",
            json={
                "patient_id": w["given"]["patient_id"],
                "media_ids": [w["given"]["media"]["id"]],
                "form": "media-publication",
                "language": "en",
                "uses": [{"purpose": "teaching"}],
                "expires_at": "2001-01-01T00:00:00Z",
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "tablet_claimed_through_the_api",
        422,
        lambda c, w: c.post(
            f"/api/v1/requests/{w['open_request']}/decision",
            json={
                "signer": {"role": "patient"},
                "choices": [{"purpose": "survey", "granted": True}],
                "method": "tablet",
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "external_without_evidence",
        422,
        lambda c, w: c.post(
            f"/api/v1/requests/{w['open_request']}/decision",
            json={
                "signer": {"role": "patient"},
                "choices": [{"purpose": "survey", "granted": True}],
                "method": "external",
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "choice_missing_for_a_use",
        422,
        lambda c, w: c.post(
            f"/api/v1/requests/{w['open_request']}/decision",
            json={
                "signer": {"role": "patient"},
                "choices": [{"purpose": "teaching", "granted": True}],
                "method": "external",
                "evidence": evidence(),
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "granted_as_string_not_boolean",
        422,
        lambda c, w: c.post(
            f"/api/v1/requests/{w['open_request']}/decision",
            json={
                "signer": {"role": "patient"},
                "choices": [{"purpose": "survey", "granted": "yes"}],
                "method": "external",
                "evidence": evidence(),
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "second_decision_on_same_request",
        409,
        lambda c, w: c.post(
            f"/api/v1/requests/{w['given']['receipt']['receipt']['request_id']}/decision",
            json={
                "signer": {"role": "patient"},
                "choices": [{"purpose": "teaching", "granted": False}],
                "method": "external",
                "evidence": evidence(),
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "withdraw_a_use_never_granted",
        422,
        lambda c, w: c.post(
            f"/api/v1/consents/{w['given']['consent_id']}/withdrawal",
            json={"purposes": ["survey"]},
            headers=w["flow"].headers,
        ),
    ),
    (
        "missing_api_key",
        401,
        lambda c, w: c.get("/api/v1/verify?sha256=" + "a" * 64 + "&purpose=teaching"),
    ),
    (
        "wrong_api_key",
        401,
        lambda c, w: c.get(
            "/api/v1/verify?sha256=" + "a" * 64 + "&purpose=teaching",
            headers=auth("csk_not-a-real-key"),
        ),
    ),
    (
        "verify_only_key_writing",
        403,
        lambda c, w: c.post(
            "/api/v1/patients",
            json={"record_number": "A1", "name": "X", "birth_date": "1990-01-01"},
            headers=auth(w["verify_key"]),
        ),
    ),
    (
        "upload_not_an_image",
        415,
        lambda c, w: c.post(
            "/api/v1/media",
            data={
                "patient_id": w["given"]["patient_id"],
                "file": (io.BytesIO(b"%PDF-1.7 not media"), "x.jpg"),
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "upload_truncated_jpeg",
        422,
        lambda c, w: c.post(
            "/api/v1/media",
            data={
                "patient_id": w["given"]["patient_id"],
                "file": (io.BytesIO(photo(3)[:2000]), "x.jpg"),
            },
            headers=w["flow"].headers,
        ),
    ),
    (
        "upload_as_json",
        415,
        lambda c, w: c.post("/api/v1/media", json={"patient_id": "x"}, headers=w["flow"].headers),
    ),
]


@pytest.mark.parametrize(("name", "status", "call"), CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(
    client: FlaskClient, world: dict[str, Any], name: str, status: int, call: Any
) -> None:
    world["verify_key"] = api_key(("verify",))
    before = snapshot()
    assert_error_shape(call(client, world), status)
    assert snapshot() == before


def test_oversized_upload_is_413_and_stores_nothing(
    app: Flask, client: FlaskClient, configure: LiveSettings
) -> None:
    flow = Flow(client, api_key())
    patient = flow.patient()
    before = snapshot()
    store = app.extensions["consent"].files.root
    files_before = set(store.rglob("*"))
    configure["CONSENT_MAX_MEDIA_BYTES"] = 10_000
    response = client.post(
        "/api/v1/media",
        data={
            "patient_id": patient,
            "file": (io.BytesIO(photo(4, size=(1600, 1200))), "big.jpg"),
        },
        headers=flow.headers,
    )
    assert_error_shape(response, 413)
    assert snapshot() == before
    assert set(store.rglob("*")) == files_before


def test_oversized_json_body_is_413(client: FlaskClient) -> None:
    flow = Flow(client, api_key())
    response = client.post(
        "/api/v1/patients",
        json={"record_number": "A1", "name": "x" * 300_000, "birth_date": "1990-01-01"},
        headers=flow.headers,
    )
    assert_error_shape(response, 413)


def test_expired_api_key_is_refused(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from consent import clock

    key = api_key(days=1)
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = client.get("/api/v1/forms", headers=auth(key))
    assert_error_shape(response, 401)


def test_unknown_route_and_method_use_the_error_shape(client: FlaskClient) -> None:
    assert_error_shape(client.get("/api/v1/nothing-here"), 404)
    assert_error_shape(client.delete("/api/v1/verify"), 405)
