"""The clinician's pages in Chromium, driven from the keyboard where a person would type:
log in, add a patient, create a request with an uploaded photo, make the tablet link; plus
the pages a patient may meet off the happy path (a spent link, the public page). axe-core
WCAG 2.1 A/AA and 200% zoom on each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_patient_path import check_page, press
from tests.factories import photo
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_clinician_creates_a_request_and_hands_over_the_tablet(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    page = tablet_page("landscape")
    page.goto(live_server + "/clinician/login")
    page.fill("#email", clinician["email"])
    page.fill("#password", "not the password")
    press(page, "main button.primary")
    page.wait_for_selector("[role=alert]")
    check_page(page, "clinician-login-refused")
    page.fill("#password", PASSWORD)
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/")

    page.goto(live_server + "/clinician/patients/new")
    check_page(page, "clinician-new-patient")
    page.fill("#record_number", "MRN-77")
    page.fill("#name", "Alice Martin")
    page.fill("#birth_date", "1944-05-06")
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/patients/pt_*")
    check_page(page, "clinician-patient")
    press(page, "main a.button.primary")

    page.wait_for_url("**/requests/new")
    assert "readability" in page.content()
    check_page(page, "clinician-new-request")
    image = tmp_path / "wound.jpg"
    image.write_bytes(photo(21))
    page.set_input_files("#media", str(image))
    press(page, "#purpose-teaching", "Space")
    page.fill("#expires", "2030-06-30")
    press(page, "main button.primary")  # create the request and make the tablet link at once
    page.wait_for_selector("svg.qr")
    check_page(page, "clinician-request-link")
    link = page.locator("p.url a").inner_text()
    path = link[link.index("/tablet/s/") :]

    tablet = tablet_page("portrait")
    tablet.goto(live_server + path)
    tablet.wait_for_url("**/tablet/start")
    # The link is bound to this tablet: another device gets a clear page, with nothing recorded.
    other = tablet_page("portrait")
    other.goto(live_server + path)
    assert "another device" in other.content()
    check_page(other, "tablet-link-elsewhere")

    dashboard = tablet_page("landscape")
    dashboard.goto(live_server + "/clinician/login")
    assert "/clinician/login" in dashboard.url


def test_public_consent_page_is_accessible(app: Flask, live_server: str, tablet_page: Any) -> None:
    from tests.factories import Flow, api_key

    flow = Flow(app.test_client(), api_key())
    given = flow.consent(photo(22), {"teaching": True, "survey": False})
    page = tablet_page("portrait")
    page.goto(live_server + f"/v/{given['consent_id']}")
    assert "Jeanne" not in page.content()
    check_page(page, "public-consent")
    with page.expect_navigation():
        press(page, "header button[lang=fr]")  # switch language, back on the same page
    assert page.url.endswith(f"/v/{given['consent_id']}")
    assert page.locator("html").get_attribute("lang") == "fr"
    check_page(page, "public-consent-fr")
