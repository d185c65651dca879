"""The clinician's new request page checks a case text before it is sent (issue 20): what could
identify someone is highlighted with its reason; the patient's name for a public use stops the
request until the clinician confirms, and the confirmation is recorded."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy import select

from consent.consents.models import CaseText
from consent.db import db
from tests.factories import Flow, csrf, photo
from tests.pages.test_worklist import _page, doctor

__all__ = ["doctor"]  # fixture

TEXT = "Mme Jeanne Martin, vue le 3 mars 2024, tél. 06 12 34 56 78 : dissection aortique."


def test_check_the_text_highlights_each_finding_with_its_reason(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    patient = flow.patient(name="Jeanne Martin")
    url = f"/clinician/patients/{patient}/requests/new"
    page = _page(client, url)
    checked = client.post(url, data={"csrf_token": csrf(page), "case_text": TEXT, "then": "screen"})
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert '<mark class="blocking">Jeanne' in html
    assert "the patient&#39;s name (or a part of it)" in html
    assert "a phone number" in html and "an exact date" in html
    assert db.session.scalars(select(CaseText)).all() == []


def test_a_named_patient_for_a_public_use_needs_the_recorded_confirmation(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    patient = flow.patient(name="Jeanne Martin")
    url = f"/clinician/patients/{patient}/requests/new"
    page = _page(client, url)
    form = {
        "csrf_token": csrf(page),
        "case_text": TEXT,
        "purposes": "public_social_network",
        "form": "media-publication:en",
        "expires": "2030-01-01",
        "then": "page",
    }
    refused = client.post(
        url,
        data={**form, "media": (io.BytesIO(photo(31)), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "confirm below that the patient agrees to be named" in refused.get_data(as_text=True)
    assert db.session.scalars(select(CaseText)).all() == []
    sent = client.post(
        url,
        data={**form, "confirm_identifiers": "yes", "media": (io.BytesIO(photo(31)), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    row = db.session.scalars(select(CaseText)).one()
    assert row.identifiers_confirmed and row.confirmed_by is not None
