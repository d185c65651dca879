"""Arabic for the patient's pages, not for the staff's (issue 21): the patient's language choice
never turns the clinician's or the administrator's pages into Arabic, which stay in English or
French with their own switch; the new-request page scores the Arabic form with OSMAN, formatted in
the clinician's language."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.db import db
from consent.forms.models import FormVersion
from consent.forms.readability import form_score
from tests.factories import Flow
from tests.pages.test_worklist import _page, doctor

__all__ = ["doctor"]  # fixture


def test_an_arabic_choice_turns_the_patient_pages_arabic_and_not_the_staff_pages(
    app: Flask,
) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "ar"
    withdraw = client.get("/withdraw").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in withdraw
    assert 'value="en" lang="en"' in withdraw and 'value="fr" lang="fr"' in withdraw
    staff = client.get("/clinician/login", headers={"Accept-Language": "fr"})
    html = staff.get_data(as_text=True)
    assert '<html lang="fr">' in html  # the browser's language among English and French
    assert 'value="ar"' not in html  # the staff's switch offers no Arabic


def test_the_arabic_form_is_scored_with_osman_in_the_clinicians_language(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    patient = flow.patient()
    row = db.session.scalars(
        select(FormVersion).filter_by(form_id="media-publication", language="ar", version=2)
    ).one()
    expected = round(form_score(json.loads(row.definition), "ar"), 1)
    assert expected >= 60
    url = f"/clinician/patients/{patient}/requests/new"
    english = _page(client, url)
    assert f"Arabic, readability {expected:.1f}" in english
    assert "OSMAN (Arabic, El-Haj and Rayson 2016)" in english
    with client.session_transaction() as session:
        session["lang"] = "fr"
    french = _page(client, url)
    assert f"arabe, lisibilité {expected:.1f}".replace(".", ",") in french
