"""One name for one thing (issue 21): every surface takes its words from schemas/glossary.yaml.

A surface that shows another name for a glossary concept ("Cours" for teaching, "équipe de soins"
for the care team, "Medical file" for the medical record) fails here. The surfaces checked: the
newest form versions (what the patient reads on the tablet and on paper), every interface string
in both languages (tablet, clinician, withdrawal and public pages, PDFs, e-mails, whatever the
template), and the pages and receipt PDF actually rendered for a consent in each language.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po
from flask import Flask
from werkzeug.security import generate_password_hash

from consent.db import db
from consent.forms import glossary
from consent.forms.catalogue import FORMS_DIR
from consent.forms.uses import PURPOSES
from tests.factories import Flow, issue_key, member, photo, tablet_consent

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "consent" / "translations"
PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
POT = ROOT / "consent" / "translations" / "messages.pot"


def offending(text: str, language: str) -> list[str]:
    """Each non-glossary name found in ``text``, with the concept it stands for."""
    found = []
    for entry in glossary.entries(language):
        pattern = entry.avoided()
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            around = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
            found.append(f"{entry.concept}: {match.group(0)!r} in ...{around}...")
    return found


def newest_forms() -> list[dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for path in sorted(FORMS_DIR.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        kept = newest.get(definition["id"])
        if kept is None or kept["version"] < definition["version"]:
            newest[definition["id"]] = definition
    return list(newest.values())


def test_the_glossary_names_every_use_in_every_language() -> None:
    assert set(glossary.languages()) >= {"en", "fr", "ar"}
    for language in glossary.languages():
        for purpose in PURPOSES:
            assert glossary.use_label(purpose, language).strip()
        for concept in ("team", "consent", "form", "log"):
            assert glossary.term(concept, language).strip()


def test_a_surface_with_another_name_for_a_concept_fails() -> None:
    assert offending("Vous pouvez en parler à votre équipe de soins.", "fr")
    assert offending("Cours : oui", "fr")
    assert not offending("Demande en cours", "fr")
    assert offending("Kept in your medical file", "en")
    assert not offending("Vous pouvez en parler à votre équipe soignante.", "fr")
    # Arabic joins "and", "with", "the" to the word: the other name is found inside it too.
    assert offending("نحفظها في السجل الطبي", "ar")
    assert offending("تحدث مع الفريق الطبي", "ar")
    assert offending("وبالسجل الطبي", "ar")
    assert not offending("نحفظها في الملف الطبي. تحدث مع الفريق المعالج.", "ar")


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_forms_patients_read_use_the_glossary(language: str) -> None:
    for definition in newest_forms():
        block = definition["languages"][language]
        for purpose, item in block["purposes"].items():
            assert item["label"] == glossary.use_label(purpose, language), (
                definition["id"],
                purpose,
            )
        text = yaml.safe_dump(block, allow_unicode=True, width=10_000)
        assert offending(text, language) == [], definition["id"]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_interface_string_uses_the_glossary(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale=language)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # Strings no longer in the templates or code are not shown anywhere.
        if message.locations:
            problems += offending(" ".join(ids), "en") + offending(" ".join(strings), language)
    assert problems == []


@pytest.fixture
def consent_in(app: Flask, request: pytest.FixtureRequest) -> dict[str, Any]:
    language = request.param
    account = member(email="dr.lee@hospital.test", display_name="Dr Lee", role="clinician")
    account.password_hash = generate_password_hash("correct horse battery staple")
    key = issue_key(name="ehr", scopes=["verify", "consents:write"], days=30, account=account)
    db.session.commit()
    api = Flow(app.test_client(), key.secret)
    patient = api.patient()
    media = api.media(patient, photo(4))
    uses = [{"purpose": p} for p in PURPOSES]
    request_id = api.request(patient, [media["id"]], uses, language=language)
    consent = tablet_consent(request_id, {p: i % 2 == 0 for i, p in enumerate(PURPOSES)})
    return {"api": api, "consent_id": consent.id, "language": language}


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def visible(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("consent_in", ["en", "fr", "ar"], indirect=True)
def test_pages_and_receipt_of_a_consent_use_the_glossary(
    app: Flask, consent_in: dict[str, Any], tmp_path: Path
) -> None:
    language, consent_id, api = consent_in["language"], consent_in["consent_id"], consent_in["api"]
    public = app.test_client()
    public.set_cookie("lang", language)
    page = public.get(f"/v/{consent_id}", headers={"Accept-Language": language})
    assert page.status_code == 200
    text = visible(page.get_data(as_text=True))
    for purpose in PURPOSES:
        assert glossary.use_label(purpose, language) in text
    receipt = api.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=api.headers)
    assert receipt.status_code == 200, receipt.status_code
    printed = pdf_text(receipt.get_data(), tmp_path)
    assert offending(text, language) == [] and offending(printed, language) == []
    # pdftotext keeps the no-break spaces of dates, and marks the direction of Arabic runs with
    # embedding controls (U+202A-U+202E) a reader never sees; compare words.
    flat = re.sub(r"\s+", " ", re.sub("[\u202a-\u202e]", "", printed).replace("\u00a0", " "))
    for purpose in PURPOSES:
        assert glossary.use_label(purpose, language) in flat
