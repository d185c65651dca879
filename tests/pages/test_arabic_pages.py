"""Arabic for the patient's pages, not for the staff's (issue 21): the patient's language choice
never turns the clinician's or the administrator's pages into Arabic, which stay in English or
French with their own switch; the new-request page scores the Arabic form with OSMAN, formatted in
the clinician's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.db import db
from consent.forms.models import FormVersion
from consent.forms.readability import form_score
from tests.factories import Flow
from tests.pages.test_worklist import _page, doctor

__all__ = ["doctor"]  # fixture
ROOT = Path(__file__).resolve().parents[2]


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
    # The page offers the newest version of each form.
    row = db.session.scalars(
        select(FormVersion)
        .filter_by(form_id="media-publication", language="ar")
        .order_by(FormVersion.version.desc())
    ).first()
    assert row is not None and row.version == 3
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


# What a patient reads: the tablet, withdrawal, public and phone pages, the PDFs, the error page
# and the views and labels behind them. The staff's pages stay in English or French.
PATIENT_FACING = re.compile(
    r"^(templates/(tablet|withdraw|public|phone|pdf)/|templates/(base|error|_code)\.html"
    r"|consent/pages/(tablet|tablet_choose|tablet_end|tablet_sign|withdraw|public|phone|labels)\.py"
    r"|consent/web/|consent/workflows/(sealing|documents|withdrawal_documents)\.py)"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[a-zA-Z]")
ARABIC = ROOT / "consent" / "translations" / "ar" / "LC_MESSAGES"


def test_every_patient_facing_string_is_in_arabic_and_compiled() -> None:
    with (ARABIC / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale="ar")
    with (ARABIC / "messages.mo").open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    missing, placeholders, stale = [], [], []
    patient_facing = 0
    for message in catalogue:
        if not message.id or not any(PATIENT_FACING.match(f) for f, _ in message.locations):
            continue
        patient_facing += 1
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            missing.append(ids[0])
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            placeholders.append(ids[0])
        if compiled.get(_key(message.id)) != _key(message.string):
            stale.append(ids[0])
    assert patient_facing > 200
    assert missing == [] and placeholders == [] and stale == []


def _key(value: str | tuple[str, ...] | list[str]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)
