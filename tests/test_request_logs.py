"""The logs: JSON lines with a request id, and nothing in them that identifies a patient or
opens anything (names, birth dates, record numbers, signing links, keys, passwords)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from consent.web.requestlog import JsonFormatter, loggable_path
from tests.factories import consent_of, photo, shown_code
from tests.pages.test_tablet_flow import (  # noqa: F401  (fixtures)
    PASSWORD,
    clinician,
    csrf,
    opened,
    strokes,
    walk_to_signature,
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log record of every library, at DEBUG, through the service's JSON formatter;
    SQLAlchemy's statements and their parameters included."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "consent", "sqlalchemy.engine")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("consent").setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def test_the_whole_flow_logs_no_identity_and_no_secret(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    opened: dict[str, Any],  # noqa: F811
    captured: io.StringIO,
) -> None:
    api = opened["api"]
    record_number = "MRN-LOGS-7781"
    api.media(api.patient(record_number), photo(9))  # a record number the test knows
    tablet = app.test_client()
    walk_to_signature(tablet, opened)
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    tablet.post("/tablet/sign", data={"csrf_token": csrf(sign), "signature": strokes()})
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    doctor.post(
        "/clinician/login",
        data={"csrf_token": csrf(login), "email": clinician["email"], "password": PASSWORD},
    )
    page = doctor.get(f"/clinician/requests/{opened['request_id']}").get_data(as_text=True)
    assert "Jeanne Martin" in page  # the clinician sees the name; the logs must not
    doctor.post(
        f"/clinician/requests/{opened['request_id']}/confirm", data={"csrf_token": csrf(page)}
    )
    done = tablet.get("/tablet/done").get_data(as_text=True)
    consent_id = consent_of(opened["request_id"])
    code = shown_code(done)
    sha = opened["media"]["sha256"]
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    api.client.post(
        f"/api/v1/consents/{consent_id}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=api.headers,
    )
    assert api.verify(sha, "teaching")["answer"]["decision"] == "withdrawn"
    api.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=api.headers)
    api.client.post(
        "/api/v1/verify",
        data={"purpose": "teaching", "file": (io.BytesIO(photo(3)), "x.jpg")},
        headers=api.headers,
    )

    text = captured.getvalue()
    lines = _lines(captured)
    requests = [line for line in lines if line["logger"] == "consent.request"]
    assert len(requests) >= 20 and all(line.get("request_id") for line in requests)
    assert any(line["path"] == "/tablet/s/…" for line in requests)  # the link, redacted
    assert any("SELECT" in line["message"] for line in lines)  # SQL was captured too
    token = opened["path"].rsplit("/", 1)[1]
    secrets = {
        "name": "Jeanne Martin",
        "surname": "Martin",
        "birth date": "1948-03-09",
        "birth date, French": "09/03/1948",
        "record number": record_number,
        "signing link": token,
        "API key": api.headers["Authorization"].split()[1],
        "password": PASSWORD,
        "withdrawal code": code,
        "withdrawal code, plain": code.replace("-", ""),
    }
    for what, value in secrets.items():
        assert value, what
        assert value not in text, f"the logs hold the {what}"


def test_the_request_id_is_sent_back_and_the_callers_own_is_kept(
    app: Flask, captured: io.StringIO
) -> None:
    client = app.test_client()
    given = client.get("/.well-known/consent-keys", headers={"X-Request-ID": "ticket-1234"})
    assert given.headers["X-Request-ID"] == "ticket-1234"
    made = client.get("/.well-known/consent-keys", headers={"X-Request-ID": "no spaces <b>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    logged = {
        line["request_id"]: line for line in _lines(captured) if line["logger"] == "consent.request"
    }
    assert logged["ticket-1234"]["status"] == 200
    assert logged[made.headers["X-Request-ID"]]["path"] == "/.well-known/consent-keys"
    assert "<b>" not in captured.getvalue()


def test_an_unexpected_error_logs_its_type_and_request_id_not_its_text(
    app: Flask, captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = "Jeanne Martin 1948-03-09"

    def broken() -> Any:
        raise RuntimeError(identity)  # the traceback quotes source lines, never values

    monkeypatch.setattr(app, "testing", False)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    app.view_functions["keys.public_keys"], original = (
        broken,
        app.view_functions["keys.public_keys"],
    )
    try:
        response = app.test_client().get("/.well-known/consent-keys")
    finally:
        app.view_functions["keys.public_keys"] = original
    assert response.status_code == 500
    errors = [line for line in _lines(captured) if line["level"] == "error"]
    assert errors and errors[0]["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError" in errors[0]["message"]
    assert "Jeanne" not in captured.getvalue()


def test_signing_link_tokens_are_cut_from_paths() -> None:
    assert loggable_path("/tablet/s/abcDEF123_-") == "/tablet/s/…"
    assert loggable_path("/tablet/start") == "/tablet/start"
    assert len(loggable_path("/x" * 1000)) == 300
