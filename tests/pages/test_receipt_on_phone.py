"""The end of the tablet flow belongs to the patient (issue 21): the code in unbreakable groups,
no raw address, nothing downloaded to the tablet, the receipt handed to the patient's own phone
through a short-lived address that works on one phone, and a Finish button that ends the tablet's
session at once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent import clock
from consent.consents import handoff as handoff_module
from consent.pages import tablet_end
from tests.factories import consent_of, csrf, shown_code
from tests.pages.test_tablet_flow import PASSWORD, clinician, opened, strokes, walk_to_signature

__all__ = ["clinician", "opened"]  # fixtures


@pytest.fixture
def done(
    app: Flask, clinician: dict[str, Any], opened: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A patient at the last page of the tablet, with the phone address its QR code encodes."""
    tokens: list[str] = []
    real = handoff_module.issue_handoff

    def capturing(*args: Any, **kwargs: Any) -> handoff_module.IssuedHandoff:
        issued = real(*args, **kwargs)
        tokens.append(issued.token)
        return issued

    monkeypatch.setattr(tablet_end, "issue_handoff", capturing)
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
    doctor.post(
        f"/clinician/requests/{opened['request_id']}/confirm", data={"csrf_token": csrf(page)}
    )
    html = tablet.get("/tablet/done").get_data(as_text=True)
    return {"tablet": tablet, "html": html, "phone_path": f"/r/{tokens[-1]}", **opened}


def test_the_code_is_shown_in_groups_that_never_break(done: dict[str, Any]) -> None:
    code = shown_code(done["html"])
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code)
    # Each group is one unbreakable span; a line may only break between groups.
    assert done["html"].count('<span class="code-group">') == 5


def test_the_last_page_shows_no_address_and_downloads_nothing(done: dict[str, Any]) -> None:
    html = done["html"]
    assert "http://consent.test" not in html and "/v/cs_" not in html
    assert " download" not in html
    assert "This square works for 10 minutes, on one phone only." in html


def test_the_phone_gets_the_receipt_and_the_code(app: Flask, done: dict[str, Any]) -> None:
    phone = app.test_client()
    page = phone.get(done["phone_path"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert shown_code(html) == shown_code(done["html"])
    assert "This page works for 10 more minutes, on this phone only." in html
    pdf_link = re.search(r'href="(/r/[^"]+/receipt\.pdf)"', html)
    assert pdf_link
    pdf = phone.get(pdf_link.group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert pdf.headers["Cache-Control"] == "no-store"
    assert consent_of(done["request_id"]).startswith("cs_")


def test_the_phone_address_works_on_one_phone_only(app: Flask, done: dict[str, Any]) -> None:
    assert app.test_client().get(done["phone_path"]).status_code == 200
    other = app.test_client().get(done["phone_path"])
    assert other.status_code == 410
    assert "already been used on another phone" in other.get_data(as_text=True)
    assert app.test_client().get(done["phone_path"] + "/receipt.pdf").status_code == 410


def test_the_phone_address_expires(
    app: Flask, done: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    later = clock.now() + timedelta(minutes=handoff_module.HANDOFF_MINUTES, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = app.test_client().get(done["phone_path"])
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_a_guessed_phone_address_is_unknown(client: FlaskClient) -> None:
    assert client.get("/r/" + "x" * 43).status_code == 410
    assert client.get("/r/" + "x" * 200).status_code == 410


def test_a_new_last_page_replaces_an_unused_phone_address(app: Flask, done: dict[str, Any]) -> None:
    done["tablet"].get("/tablet/done")
    assert app.test_client().get(done["phone_path"]).status_code == 410


def test_finish_ends_the_tablet_session_at_once(done: dict[str, Any]) -> None:
    tablet = done["tablet"]
    finished = tablet.post("/tablet/finish", data={"csrf_token": csrf(done["html"])})
    assert finished.status_code == 200
    assert "Please hand the tablet back" in finished.get_data(as_text=True)
    assert tablet.get("/tablet/done").status_code == 404
    assert tablet.get("/tablet/receipt.pdf").status_code == 404
    assert tablet.get("/tablet/start").status_code == 410


def test_the_french_last_page_and_phone_page(app: Flask, done: dict[str, Any]) -> None:
    phone = app.test_client()
    phone.get(done["phone_path"])
    token = csrf(phone.get(done["phone_path"]).get_data(as_text=True))
    switched = phone.post(
        "/r/language", data={"csrf_token": token, "lang": "fr", "next": done["phone_path"]}
    )
    assert switched.status_code == 302 and switched.location.endswith(done["phone_path"])
    html = phone.get(done["phone_path"]).get_data(as_text=True)
    assert "Enregistrer mon reçu (PDF)" in html
    assert "Cette page fonctionne encore 10\u00a0minutes" in html or "encore 10 minutes" in html
    # Off-site targets are refused.
    assert (
        phone.post(
            "/r/language", data={"csrf_token": token, "lang": "fr", "next": "https://evil.test/"}
        ).status_code
        == 404
    )
