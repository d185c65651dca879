"""The clinician's worklist and request page in Chromium at 1440x900, in English and French:
a signature waiting for the clinician appears without a reload, and so does the patient's
withdrawal, announced through the page's live region. axe-core and 200% zoom on each page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from consent.accounts.scope import EVERY_TEAM
from consent.consents import signing
from consent.consents.decisions import Signer, consent_for_request
from consent.consents.signature import drawn_signature
from consent.db import db
from consent.web.context import runtime
from consent.workflows.withdraw import withdraw_with_code
from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, photo, signature_strokes
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
DESK = {"width": 1440, "height": 900}
# The pages poll every 3 s; a change shows within a few polls.
SOON = 15_000


def _patient_signs(request_id: str) -> None:
    """The patient's choices and signature submitted from a tablet (its own session)."""
    rt = runtime()
    issued = signing.issue_link(db.session, request_id=request_id, minutes=30, scope=EVERY_TEAM)
    link = signing.open_link(db.session, issued.token, "tablet")
    signing.submit(
        db.session,
        rt.vault,
        link=link,
        choices={"teaching": True, "public_social_network": True},
        signer=Signer("patient"),
        drawn=drawn_signature(signature_strokes()),
    )
    db.session.commit()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_worklist_and_request_page_follow_the_patient_without_a_reload(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    language: str,
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient(name="Alice Martin")
    media = api.media(patient, photo(61))
    request_id = api.request(
        patient, [media["id"]], [{"purpose": "teaching"}, {"purpose": "public_social_network"}]
    )
    # The browser's language chooses the interface's (a French browser: French pages).
    page = tablet_page("landscape", locale="fr-FR" if language == "fr" else "en-GB")
    page.set_viewport_size(DESK)
    page.goto(live_server + "/clinician/login")
    page.fill("#email", clinician["email"])
    page.fill("#password", PASSWORD)
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/")
    assert page.locator("html").get_attribute("lang") == language
    check_page(page, f"clinician-worklist-{language}")

    waiting = (
        "En attente de votre confirmation" if language == "fr" else "Waiting for your confirmation"
    )
    # The request page with a fresh tablet link, in a second tab: it follows the patient too.
    desk = page.context.new_page()
    desk.goto(live_server + f"/clinician/requests/{request_id}")
    with desk.expect_navigation():
        press(desk, "main form[action$='/link'] button")
    desk.wait_for_selector("svg.qr")
    _patient_signs(request_id)
    page.wait_for_selector(f"td >> text={waiting}", timeout=SOON)  # no reload
    assert page.title().startswith("(1) ")
    assert "confirmation" in page.locator("#live-announce").inner_text()
    check_page(page, f"clinician-worklist-waiting-{language}")
    desk.wait_for_selector("main form[action$='/confirm'] button", timeout=SOON)
    assert desk.locator("svg.qr").count() == 0  # the spent link went with the old state
    desk.close()

    page.locator("tbody a[href*='/clinician/requests/']").first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page(page, f"clinician-request-signed-{language}")
    with page.expect_navigation():
        press(page, "main form button.primary")  # confirm
    allowed = "Autorisé" if language == "fr" else "Allowed"
    assert page.locator(f"td.state-allowed >> text={allowed}").count() == 2
    check_page(page, f"clinician-request-decided-{language}")

    db.session.expire_all()
    consent = consent_for_request(db.session, request_id)
    assert consent is not None
    withdraw_with_code(db.session, runtime().keyring, consent_id=consent.id, purposes=["teaching"])
    db.session.commit()
    withdrawn = "Retiré le" if language == "fr" else "Withdrawn on"
    page.wait_for_selector(f"td.state-withdrawn >> text={withdrawn}", timeout=SOON)
    assert page.locator("td.state-allowed").count() == 1
    # What verify answers redraws too: teaching is withdrawn for the photo.
    page.wait_for_selector("td.state-verify-withdrawn", timeout=SOON)
    assert page.locator("#live-announce").inner_text()
    check_page(page, f"clinician-request-withdrawn-{language}")
    if language == "fr":
        text = page.locator("main").inner_text()
        assert "État\u00a0:" in text  # French typography: a non-breaking space before ":"

    page.goto(live_server + "/clinician/")
    partly = "Retiré en partie" if language == "fr" else "Partly withdrawn"
    assert page.locator(f"td >> text={partly}").count() == 1
    check_page(page, f"clinician-worklist-withdrawn-{language}")
