"""The patient's withdrawal in Chromium, with the keyboard only: the receipt's QR address fills the
code field (and leaves the address bar), a wrong code says nothing, the consent is shown, one
use is ticked, confirmed, done. Every page: axe-core WCAG 2.1 A/AA at 100% and 200% zoom, no
sideways scrolling at 200%, a screenshot; tablet portrait and landscape. Verify follows."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.helpers import focus_order
from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, api_key, photo

pytestmark = pytest.mark.browser
PUBLIC = "http://consent.test"


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_patient_withdraws_one_use_with_the_keyboard(
    app: Flask, live_server: str, tablet_page: Any, orientation: str
) -> None:
    api = Flow(app.test_client(), api_key())
    decision = api.consent(photo(41), {"teaching": True, "public_social_network": True})
    sha = decision["media"]["sha256"]
    address = decision["withdrawal_url"]
    code = address.split("#code=", 1)[1]
    shot = f"withdraw-{orientation}"

    page = tablet_page(orientation)
    # A wrong code first: one neutral message, announced.
    page.goto(live_server + "/withdraw")
    page.locator("#code").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    press(page, "main button.primary")
    page.wait_for_selector("[role=alert]")
    assert "We could not find a consent with this code" in page.content()
    check_page(page, f"{shot}-1-wrong-code")

    # The QR code's address, opened afresh: the script fills the field and takes the code out
    # of the URL.
    page.goto("about:blank")
    page.goto(live_server + address.removeprefix(PUBLIC))
    assert page.locator("#code").input_value() == code
    assert "code=" not in page.url
    check_page(page, f"{shot}-1-code")
    order = focus_order(page, 5)  # skip link, the two other languages, the code, Continue
    assert "Your withdrawal code" in order and "Continue" in order
    press(page, "main button.primary")

    page.wait_for_url("**/withdraw/consent")
    assert page.locator("main img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("input[type=checkbox]:checked").count() == 0  # nothing pre-ticked
    check_page(page, f"{shot}-2-consent")
    press(page, "#use-teaching", "Space")
    assert page.locator("#use-teaching").is_checked()
    press(page, "button[value=some]")

    page.wait_for_url("**/withdraw/confirm")
    assert "This cannot be undone" in page.content()
    check_page(page, f"{shot}-3-confirm")
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    press(page, "main nav button.primary")

    page.wait_for_url("**/withdraw/done")
    assert page.locator("a[download]").count() == 1
    check_page(page, f"{shot}-4-done")
    assert api.verify(sha, "teaching")["answer"]["decision"] == "withdrawn"
    assert api.verify(sha, "public_social_network")["answer"]["decision"] == "allowed"


def test_stop_and_the_french_pages_pass_the_same_checks(
    app: Flask, live_server: str, tablet_page: Any
) -> None:
    api = Flow(app.test_client(), api_key())
    decision = api.consent(photo(42), {"teaching": True})
    page = tablet_page("portrait", locale="fr-FR")
    page.goto(live_server + decision["withdrawal_url"].removeprefix(PUBLIC))
    assert page.locator("html").get_attribute("lang") == "fr"
    check_page(page, "withdraw-fr-1-code")
    press(page, "main button.primary")
    page.wait_for_url("**/withdraw/consent")
    press(page, "button[value=all]")
    page.wait_for_url("**/withdraw/confirm")
    check_page(page, "withdraw-fr-3-confirm")
    with page.expect_navigation():
        press(page, "form.stop button")
    assert page.locator("h1").count() == 1
    check_page(page, "withdraw-fr-stopped")
    assert api.verify(decision["media"]["sha256"], "teaching")["answer"]["decision"] == "allowed"


def test_the_public_page_with_its_file_check_passes_the_same_checks(
    app: Flask, live_server: str, tablet_page: Any, tmp_path: Any
) -> None:
    api = Flow(app.test_client(), api_key())
    decision = api.consent(photo(43), {"teaching": True})
    page = tablet_page("landscape")
    page.goto(live_server + f"/v/{decision['consent_id']}")
    check_page(page, "public-consent")
    upload = tmp_path / "photo.jpg"
    upload.write_bytes(photo(43))
    page.locator("#file").set_input_files(str(upload))
    press(page, "main form button.primary")
    page.wait_for_selector("#file-result")
    assert "byte for byte" in page.locator("#file-result").inner_text()
    check_page(page, "public-consent-file-checked")
