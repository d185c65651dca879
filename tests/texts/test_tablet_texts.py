"""The patient reads each case text in full on the tablet, in its own step (issue 20)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.factories import Flow, photo
from tests.pages.test_tablet_flow import clinician

__all__ = ["clinician"]  # fixture

TEXTS = [
    "Un homme de 54 ans consulte pour une douleur thoracique <b>depuis</b> trois jours.",
    "Question du sondage : auriez-vous opéré la nuit même ?",
]


def _opened(app: Flask, clinician: dict[str, Any], texts: list[str]) -> str:
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, photo(4))
    created = api.open_request(
        patient, [media["id"]], [{"purpose": "teaching"}], texts=texts, language="fr"
    )
    return str(created["signing_url"]).removeprefix("http://consent.test")


def test_the_tablet_shows_every_case_text_in_full_in_its_own_step(
    app: Flask, clinician: dict[str, Any]
) -> None:
    tablet = app.test_client()
    tablet.get(_opened(app, clinician, TEXTS))
    media = tablet.get("/tablet/media").get_data(as_text=True)
    assert 'href="/tablet/texts"' in media
    page = tablet.get("/tablet/texts")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Un homme de 54 ans consulte pour une douleur thoracique" in html
    assert "&lt;b&gt;depuis&lt;/b&gt;" in html  # shown as written, never as markup
    assert "auriez-vous opéré la nuit même ?" in html
    assert "Texte 2 sur 2" in html and "Les mots qui seront publiés" in html
    assert "Étape 3 sur" in html or "tape 3 sur" in html
    first = tablet.get("/tablet/read/1").get_data(as_text=True)
    assert 'href="/tablet/texts"' in first


def test_without_texts_there_is_no_text_step(app: Flask, clinician: dict[str, Any]) -> None:
    tablet = app.test_client()
    tablet.get(_opened(app, clinician, []))
    assert 'href="/tablet/texts"' not in tablet.get("/tablet/media").get_data(as_text=True)
    assert tablet.get("/tablet/texts").status_code == 302


def test_the_texts_page_needs_the_signing_session(app: Flask, clinician: dict[str, Any]) -> None:
    _opened(app, clinician, TEXTS)
    assert app.test_client().get("/tablet/texts").status_code == 410
