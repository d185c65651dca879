"""Issue 18's "done when", walked in Chromium as the people would: the clinician logs in, adds a
patient, asks for three uses of one photo and makes the tablet link; the patient signs on the
tablet in a second browser; the clinician's worklist, open and never reloaded, shows the
signature waiting by itself; the clinician confirms; the patient withdraws one use on the
withdrawal page with the code the tablet showed; the request page and the worklist, both still
open, show the withdrawal by themselves; the e-mail about it reaches a real SMTP server through
the outbox, drained by the service's own `send-emails` command. axe-core on every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.browser.helpers import assert_no_axe_violations, screenshot
from tests.browser.test_patient_path import draw_signature, press
from tests.factories import comprehension_answers, photo
from tests.notifications.test_withdrawal_email import Inbox, smtp  # noqa: F401 (fixture)
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
DESK = {"width": 1440, "height": 900}
# The staff pages poll every 3 s (consent/static/js/live.js): a change shows within a few polls.
SOON = 15_000
USES = ("teaching", "professional_network", "survey")


def _checked(page: Any, name: str) -> None:
    assert_no_axe_violations(page, context=name)
    screenshot(page, f"workspace-{name}")


def _patient_signs(tablet: Any, path: str, live_server: str) -> None:
    """The patient's whole path on the tablet, up to the page that waits for the clinician."""
    tablet.goto(live_server + path)
    tablet.wait_for_url("**/tablet/start")
    _checked(tablet, "tablet-start")
    with tablet.expect_navigation():
        press(tablet, "a.button.primary")
    assert tablet.url.endswith("/tablet/media")
    with tablet.expect_navigation():
        press(tablet, "a.button.primary")
    while "/tablet/read/" in tablet.url:
        with tablet.expect_navigation():
            press(tablet, "a.button.primary")
    assert tablet.url.endswith("/tablet/check")
    for key, answer in comprehension_answers(
        "media-publication", "en", purposes=list(USES)
    ).items():
        press(tablet, f"#{key}-{answer}", "Space")
    press(tablet, "main button.primary")
    # Yes to every use, one screen each, then the summary as it is.
    for number in range(1, len(USES) + 1):
        tablet.wait_for_url(f"**/tablet/question/{number}")
        _checked(tablet, f"tablet-question-{number}")
        press(tablet, "button.answer.yes")
    tablet.wait_for_url("**/tablet/choose")
    _checked(tablet, "tablet-summary")
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/who")
    press(tablet, "#role-patient", "Space")
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/sign")
    draw_signature(tablet)
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/wait")
    _checked(tablet, "tablet-wait")


def test_from_login_to_a_withdrawal_the_clinician_sees_everything_without_reloading(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
    configure: Any,
    runner: FlaskCliRunner,
    tmp_path: Path,
) -> None:
    inbox, port = smtp
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = port
    configure["CONSENT_SMTP_FROM"] = "consent@hospital.test"

    # The clinician: log in, new patient, new request with one photo and three uses.
    worklist = tablet_page("landscape")
    worklist.set_viewport_size(DESK)
    worklist.goto(live_server + "/clinician/login")
    worklist.fill("#email", clinician["email"])
    worklist.fill("#password", PASSWORD)
    press(worklist, "main button.primary")
    worklist.wait_for_url("**/clinician/")
    _checked(worklist, "worklist-empty")

    desk = worklist.context.new_page()
    desk.set_viewport_size(DESK)
    desk.goto(live_server + "/clinician/patients/new")
    desk.fill("#record_number", "MRN-1818")
    desk.fill("#name", "Alice Martin")
    desk.fill("#birth_date", "1950-02-03")
    press(desk, "main button.primary")
    desk.wait_for_url("**/clinician/patients/pt_*")
    _checked(desk, "patient")
    press(desk, "main a.button.primary")
    desk.wait_for_url("**/requests/new")
    _checked(desk, "new-request")
    image = tmp_path / "wound.jpg"
    image.write_bytes(photo(18))
    desk.set_input_files("#media", str(image))
    for use in USES:
        if not desk.locator(f"#purpose-{use}").is_checked():
            press(desk, f"#purpose-{use}", "Space")
    assert desk.locator("input[name=purposes]:checked").count() == len(USES)
    assert desk.locator("#expires").input_value()  # a default end date: nothing to type
    press(desk, "main button.primary")  # create the request and make the tablet link at once
    desk.wait_for_selector("svg.qr")
    _checked(desk, "request-link")
    link = desk.locator("p.url a").inner_text()
    # The answer to the form shows the request page (the link is shown once, never cached).
    request_path = desk.locator("#request-live").get_attribute("data-live-page")
    assert request_path and request_path.startswith("/clinician/requests/")

    # The patient, in a browser of their own (a second context: no cookie shared).
    tablet = tablet_page("portrait")
    _patient_signs(tablet, link[link.index("/tablet/s/") :], live_server)

    # The worklist, never reloaded since the log-in, follows by itself.
    worklist.wait_for_selector("td >> text=Waiting for your confirmation", timeout=SOON)
    assert worklist.title().startswith("(1) ")
    assert "confirmation" in worklist.locator("#live-announce").inner_text()
    _checked(worklist, "worklist-waiting")

    # The clinician confirms on the request page; the tablet shows the code by itself.
    desk.wait_for_selector("main form[action$='/confirm'] button", timeout=SOON)
    _checked(desk, "request-signed")
    with desk.expect_navigation():
        press(desk, "main form[action$='/confirm'] button")
    assert desk.locator("td.state-allowed").count() == len(USES)
    _checked(desk, "request-decided")
    tablet.wait_for_url("**/tablet/done", timeout=SOON)
    code = tablet.locator(".code").inner_text().replace("\n", "").strip()
    _checked(tablet, "tablet-done")
    tablet.context.close()

    # Later, at home: the patient withdraws teaching with the code, on the withdrawal page.
    home = tablet_page("portrait")
    home.goto(live_server + "/withdraw")
    home.locator("#code").fill(code)
    press(home, "main button.primary")
    home.wait_for_url("**/withdraw/consent")
    _checked(home, "withdraw-consent")
    press(home, "#use-teaching", "Space")
    press(home, "button[value=some]")
    home.wait_for_url("**/withdraw/confirm")
    _checked(home, "withdraw-confirm")
    press(home, "main nav button.primary")
    home.wait_for_url("**/withdraw/done")
    _checked(home, "withdraw-done")

    # Both staff pages, open all along, show it within seconds.
    desk.wait_for_selector("td.state-withdrawn >> text=Withdrawn on", timeout=SOON)
    assert desk.locator("td.state-allowed").count() == len(USES) - 1
    _checked(desk, "request-withdrawn")
    worklist.wait_for_selector("td >> text=Partly withdrawn", timeout=SOON)
    _checked(worklist, "worklist-withdrawn")

    # The e-mail, sent the way the service sends it: its `send-emails` command.
    result = runner.invoke(args=["send-emails"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    recipients, message = inbox.messages[-1]
    assert recipients == [clinician["email"]]
    assert "withdrew" in str(message["Subject"])
    body = message.get_content()
    assert request_path in body
    assert "Alice" not in body and "MRN-1818" not in body
