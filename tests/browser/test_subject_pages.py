"""Several people in one photo, on the clinician's pages in Chromium (issue 19): a photo the
team already holds asks who it shows, in plain words; "another person in the same picture"
opens a request for each person, listed on the request page. axe-core WCAG 2.1 A/AA and 200%
zoom on each, in English and French."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, photo
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

WORDS = {
    "en": ("This photo is already stored", "Other people in these photos"),
    "fr": ("Cette photo est déjà enregistrée", "Autres personnes sur ces photos"),
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_photo_already_stored_then_both_people_asked(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    tmp_path: Path,
    language: str,
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    first = api.patient(name="Jeanne Martin")
    second = api.patient(name="Paul Martin")
    api.media(first, photo(1930))

    page = tablet_page("landscape", locale="fr-FR" if language == "fr" else "en-GB")
    page.goto(live_server + "/clinician/login")
    page.fill("#email", clinician["email"])
    page.fill("#password", PASSWORD)
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/")

    page.goto(live_server + f"/clinician/patients/{second}/requests/new")
    check_page(page, f"{language}-clinician-new-request-others")
    image = tmp_path / "twins.jpg"
    image.write_bytes(photo(1930))
    page.set_input_files("#media", str(image))
    press(page, "#purpose-teaching", "Space")
    page.fill("#expires", "2030-06-30")
    press(page, "main button.primary")
    page.wait_for_selector("#duplicate-error")
    assert WORDS[language][0] in page.content() and "Jeanne Martin" in page.content()
    check_page(page, f"{language}-clinician-duplicate-photo")

    press(page, "#duplicate-add", "Space")
    # The form keeps what was ticked; only the file must be chosen again (here: none).
    assert page.is_checked("#purpose-teaching")
    press(page, "main button.primary")
    page.wait_for_selector("svg.qr")
    assert WORDS[language][1] in page.content() and "Jeanne Martin" in page.content()
    check_page(page, f"{language}-clinician-request-group")
