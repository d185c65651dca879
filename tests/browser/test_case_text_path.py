"""The patient reads the case text on the tablet, in Chromium (issue 20): its own step after the
photos, the whole text, accessible (axe, keyboard, 200% zoom) in both orientations."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, photo
from tests.pages.test_tablet_flow import clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

TEXT = (
    "Une femme de 54 ans consulte pour une éruption étendue en cinq jours. La biopsie cutanée "
    "montre une réaction médicamenteuse. L'éruption disparaît en trois semaines sans cicatrice."
)


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_the_patient_reads_the_case_text_in_full_before_the_form(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    orientation: str,
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, photo(61))
    created = api.open_request(
        patient, [media["id"]], [{"purpose": "teaching"}], texts=[TEXT], language="fr"
    )
    page = tablet_page(orientation, locale="fr-FR")
    page.goto(live_server + created["signing_url"].removeprefix("http://consent.test"))
    page.wait_for_url("**/tablet/start")
    press(page, "a.button.primary")
    page.wait_for_url("**/tablet/media")
    press(page, "a.button.primary")
    page.wait_for_url("**/tablet/texts")
    assert (
        page.locator("#case-texts[lang=fr] article.case-text")
        .inner_text()
        .endswith("sans cicatrice.")
    )
    check_page(page, f"fr-{orientation}-02b-case-text")
    press(page, "a.button.primary")
    page.wait_for_url("**/tablet/read/1")
