"""The clinician's paper-path pages through the test client: log-in required, an accessible
form with nothing ticked in advance, a clear error summary, the withdrawal code afterwards."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from consent.accounts.models import Account
from consent.consents.models import PaperScan
from consent.db import db
from consent.web.context import runtime
from tests.factories import WARD, Flow, csrf, issue_key, member, photo, scan_pdf

PASSWORD = "correct horse battery staple"


def _account(email: str, name: str, team: str = WARD) -> dict[str, Any]:
    account = member(email=email, display_name=name, role="clinician", team_slug=team)
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(
        name="ehr", scopes=["verify", "consents:write"], days=30, account=account, team_slug=team
    )
    db.session.commit()
    return {"email": email, "key": key.secret}


def _logged_in(app: Flask, email: str) -> FlaskClient:
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    response = doctor.post(
        "/clinician/login", data={"csrf_token": csrf(login), "email": email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return doctor


@pytest.fixture
def opened(app: Flask) -> dict[str, Any]:
    """A request opened by Dr House through the API, with two uses to answer."""
    clinician = _account("dr.house@hospital.test", "Dr House")
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, photo(31))
    created = api.open_request(
        patient, [media["id"]], [{"purpose": "teaching"}, {"purpose": "public_social_network"}]
    )
    return {
        "api": api,
        "media": media,
        "id": created["id"],
        "url": f"/clinician/requests/{created['id']}/paper",
        "email": clinician["email"],
    }


def _store_files() -> set[Path]:
    return {path for path in runtime().files.root.rglob("*") if path.is_file()}


def _post(doctor: FlaskClient, url: str, fields: dict[str, str], scan: bytes | None) -> Any:
    token = csrf(doctor.get(url).get_data(as_text=True))
    data: dict[str, Any] = {"csrf_token": token, **fields}
    data["scan"] = (io.BytesIO(scan), "scan.pdf") if scan is not None else (io.BytesIO(b""), "")
    return doctor.post(url, data=data, content_type="multipart/form-data")


def test_paper_page_needs_a_log_in(app: Flask, opened: dict[str, Any]) -> None:
    anonymous = app.test_client()
    response = anonymous.get(opened["url"])
    assert response.status_code == 302 and "/clinician/login" in response.location
    done = anonymous.get(opened["url"] + "/done")
    assert done.status_code == 302 and "/clinician/login" in done.location
    # A form posted without its CSRF token is refused before anything else.
    assert anonymous.post(opened["url"], data={"teaching": "granted"}).status_code == 400


def test_clinician_records_a_signed_paper_form(app: Flask, opened: dict[str, Any]) -> None:
    doctor = _logged_in(app, opened["email"])
    request_page = doctor.get(f"/clinician/requests/{opened['id']}").get_data(as_text=True)
    assert f'href="{opened["url"]}"' in request_page  # linked from the request page

    page = doctor.get(opened["url"]).get_data(as_text=True)
    assert page.count("<fieldset") >= 2 and "<legend>Teaching</legend>" in page
    assert "checked" not in page  # nothing ticked in advance
    assert re.search(
        r'<input type="file" id="scan" name="scan" accept="application/pdf,image/jpeg,image/png"',
        page,
    )
    assert '<label for="teaching-granted">' in page and '<label for="scan">' in page

    # Half the choices and no file: nothing recorded, a summary names what is missing.
    partial = _post(doctor, opened["url"], {"teaching": "granted", "role": "patient"}, None)
    assert partial.status_code == 422
    body = partial.get_data(as_text=True)
    summary = body[body.index('id="error-summary"') : body.index("</ul>")]
    assert 'href="#public_social_network-granted"' in summary
    assert 'href="#scan"' in summary
    assert 'value="granted" required checked' in body  # the answer given is kept
    assert db.session.scalar(select(func.count()).select_from(PaperScan)) == 0

    pdf = scan_pdf()
    recorded = _post(
        doctor,
        opened["url"],
        {"teaching": "granted", "public_social_network": "refused", "role": "patient"},
        pdf,
    )
    assert recorded.status_code == 302 and recorded.location.endswith(opened["url"] + "/done")
    done = doctor.get(opened["url"] + "/done").get_data(as_text=True)
    code = re.search(r'class="code"[^>]*>([0-9A-Z-]+)<', done)
    assert code and len(code.group(1).replace("-", "")) == 20
    assert "<svg" in done and "/v/cs_" in done

    status = doctor.get(f"/clinician/requests/{opened['id']}").get_data(as_text=True)
    assert "Signed on paper; recorded on" in status
    api = opened["api"]
    sha = opened["media"]["sha256"]
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    assert api.verify(sha, "public_social_network")["answer"]["decision"] == "not_covered"
    consent_id = re.search(r"/v/(cs_[0-9a-f]{32})", done).group(1)  # type: ignore[union-attr]
    receipt = api.client.get(f"/api/v1/consents/{consent_id}/receipt", headers=api.headers).json
    assert receipt["receipt"]["method"] == "paper"
    # Dr House informed the patient and entered the form on the page: the receipt names the
    # account (its name is resolved when shown), no name as typed.
    house = db.session.scalar(select(Account).where(Account.email == opened["email"]))
    assert receipt["receipt"]["informed_by"] == {"clinician": {"account": house.id}}
    assert receipt["receipt"]["recorded_by"] == {
        "team": receipt["receipt"]["team"],
        "account": house.id,
        "entered_by": house.id,
    }

    # Decided: the form is not offered again, and a second post is refused.
    again = doctor.get(opened["url"])
    assert again.status_code == 302 and again.location.endswith(
        f"/clinician/requests/{opened['id']}"
    )
    token = csrf(status)
    second = doctor.post(
        opened["url"],
        data={
            "csrf_token": token,
            "teaching": "refused",
            "public_social_network": "refused",
            "role": "patient",
            "scan": (io.BytesIO(pdf), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert second.status_code == 409 and second.mimetype == "text/html"
    assert db.session.scalar(select(func.count()).select_from(PaperScan)) == 1


def test_a_file_that_is_not_a_scan_is_refused_on_the_page(
    app: Flask, opened: dict[str, Any]
) -> None:
    doctor = _logged_in(app, opened["email"])
    before = _store_files()
    fields = {"teaching": "granted", "public_social_network": "refused", "role": "patient"}
    text = _post(doctor, opened["url"], fields, b"<html>not a scan</html>" * 10)
    assert text.status_code == 415
    assert "not a PDF, JPEG or PNG" in text.get_data(as_text=True)
    cut = _post(doctor, opened["url"], fields, scan_pdf()[:-150])
    assert cut.status_code == 422 and "cannot be read" in cut.get_data(as_text=True)
    assert _store_files() == before
    assert db.session.scalar(select(func.count()).select_from(PaperScan)) == 0


def test_the_patients_team_records_the_paper_form_and_no_other_team_sees_it(
    app: Flask, opened: dict[str, Any]
) -> None:
    # A colleague of the same team may enter the signed form (the receipt names who did).
    _account("dr.wilson@hospital.test", "Dr Wilson")
    colleague = _logged_in(app, "dr.wilson@hospital.test")
    assert colleague.get(opened["url"]).status_code == 200
    # A clinician of another team finds nothing there, not even a refusal.
    _account("dr.cuddy@hospital.test", "Dr Cuddy", team="oncology")
    outsider = _logged_in(app, "dr.cuddy@hospital.test")
    page = outsider.get(opened["url"])
    assert page.status_code == 404 and "Dr House" not in page.get_data(as_text=True)
    assert outsider.get(f"/clinician/requests/{opened['id']}").status_code == 404
    fields = {"teaching": "granted", "public_social_network": "refused", "role": "patient"}
    assert _post(outsider, opened["url"], fields, scan_pdf()).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(PaperScan)) == 0
