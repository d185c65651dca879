# ruff: noqa: F811  (the fixtures of test_tablet_flow, imported by name)
"""The end of the tablet flow on a shared tablet: the done page has "Finish", ends the patient's
session by itself after the time it states, and no cookie shows what the patient chose."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent import clock
from tests.factories import csrf, shown_code
from tests.pages.test_tablet_flow import (  # noqa: F401  (fixtures)
    PASSWORD,
    clinician,
    opened,
    strokes,
    walk_to_signature,
)


def confirmed_tablet(app: Flask, clinician: dict[str, Any], opened: dict[str, Any]) -> FlaskClient:
    """A tablet whose patient signed and whose clinician confirmed: the done page is next."""
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
    confirmed = doctor.post(
        f"/clinician/requests/{opened['request_id']}/confirm", data={"csrf_token": csrf(page)}
    )
    assert confirmed.status_code == 302
    return tablet


def code_on(page: str) -> str | None:
    return shown_code(page) or None


def test_finish_ends_the_patients_session_on_the_tablet(
    app: Flask, clinician: dict[str, Any], opened: dict[str, Any]
) -> None:
    tablet = confirmed_tablet(app, clinician, opened)
    done = tablet.get("/tablet/done").get_data(as_text=True)
    assert code_on(done)
    assert "Finish" in done and "closes by itself in 3 minutes." in done
    finished = tablet.post("/tablet/finish", data={"csrf_token": csrf(done)})
    assert finished.status_code == 200
    assert "hand the tablet back" in finished.get_data(as_text=True)
    # Whoever picks the tablet up next: no code, no receipt.
    assert tablet.get("/tablet/done").status_code == 404
    assert tablet.get("/tablet/receipt.pdf").status_code == 404


def test_next_person_finds_nothing_once_the_stated_time_is_up(
    app: Flask,
    clinician: dict[str, Any],
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tablet = confirmed_tablet(app, clinician, opened)
    done = tablet.get("/tablet/done")
    page = done.get_data(as_text=True)
    assert code_on(page)
    # The page reloads itself when its time is up (done.js reads the seconds left).
    ends_in = re.search(r'data-ends-in="(\d+)"', page)
    assert ends_in and 170 <= int(ends_in.group(1)) <= 180
    assert "js/done.js" in page
    assert tablet.get("/tablet/receipt.pdf").status_code == 200
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(minutes=3, seconds=1))
    later = tablet.get("/tablet/done")
    assert later.status_code == 410 and code_on(later.get_data(as_text=True)) is None
    assert "privacy" in later.get_data(as_text=True)
    assert tablet.get("/tablet/receipt.pdf").status_code == 404
    assert tablet.get("/tablet/done").status_code == 404


def test_patient_can_ask_for_more_time(
    app: Flask,
    clinician: dict[str, Any],
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tablet = confirmed_tablet(app, clinician, opened)
    page = tablet.get("/tablet/done").get_data(as_text=True)
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(minutes=2))
    assert tablet.post("/tablet/more-time", data={"csrf_token": csrf(page)}).status_code == 302
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(minutes=4))
    assert code_on(tablet.get("/tablet/done").get_data(as_text=True))


def decodings(value: str) -> list[bytes]:
    """Everything a person holding the cookie can read from it without the secret key."""
    found = [value.encode()]
    for part in value.lstrip(".").split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        found.append(raw)
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(raw))
    return found


def test_tablet_cookie_shows_no_choice_and_no_name(
    app: Flask, clinician: dict[str, Any], opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    walk_to_signature(tablet, opened)
    with tablet.session_transaction() as session:
        session["signer"] = {"role": "representative", "name": "Jeanne Martin"}
    cookie = tablet.get_cookie("session")
    assert cookie is not None
    for readable in decodings(cookie.value):
        assert b"Jeanne" not in readable
        assert b"public_social_network" not in readable and b"teaching" not in readable
    # The service itself still reads it.
    with tablet.session_transaction() as session:
        assert session["signer"]["name"] == "Jeanne Martin"
