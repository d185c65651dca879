"""The patient's path in Arabic (issue 21), on an iPad-size tablet (820x1180 portrait, 1180x820
landscape): the patient chooses العربية on the first page, the page turns right to left (dir="rtl"
lang="ar" on the html element) and the form's text becomes the Arabic form; the progress and the
Back / Next row are mirrored, the withdrawal code stays left to right in its groups of four.
A switch to Arabic on a reading page keeps the patient's place. Every page: axe-core with zero
violations, 200% zoom, a screenshot (tests/browser/screenshots/ar-*)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.helpers import remember_full_size, screenshot
from tests.browser.test_patient_path import (
    assert_large_target,
    check_page,
    draw_signature,
    press,
)
from tests.factories import comprehension_answers
from tests.pages.test_tablet_flow import PASSWORD, clinician, opened  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

IPAD = {"portrait": {"width": 820, "height": 1180}, "landscape": {"width": 1180, "height": 820}}


def ipad(tablet_page: Any, orientation: str) -> Any:
    page = tablet_page(orientation, locale="ar")
    page.set_viewport_size(IPAD[orientation])
    remember_full_size(page, IPAD[orientation])
    return page


def assert_right_to_left(page: Any) -> None:
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"


def assert_mirrored_steps(page: Any) -> None:
    """Back on the right, going on (the primary button) on its left; the bar runs from the right."""
    back = page.locator("nav.steps a.button:not(.primary)").bounding_box()
    forward = page.locator("nav.steps .primary").bounding_box()
    assert back and forward and back["x"] > forward["x"], (back, forward)
    assert (
        page.locator(".progress progress").evaluate("e => getComputedStyle(e).direction") == "rtl"
    )


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_patient_signs_in_arabic(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    opened: dict[str, Any],  # noqa: F811
    orientation: str,
) -> None:
    shot = f"ar-{orientation}"
    page = ipad(tablet_page, orientation)
    page.goto(live_server + opened["path"])
    # The language switch offers Arabic, named in Arabic.
    switch = page.locator("form.language button[lang=ar]")
    assert switch.inner_text() == "العربية" and switch.get_attribute("dir") == "rtl"
    press(page, "form.language button[lang=ar]")
    page.locator("form.language button[lang=en]").wait_for()
    assert page.url.endswith("/tablet/start")
    assert_right_to_left(page)
    assert page.title().startswith("صورك ومقاطع الفيديو")
    check_page(page, f"{shot}-01-start")
    press(page, "a.button.primary")

    page.wait_for_url("**/tablet/media")
    check_page(page, f"{shot}-02-media")
    press(page, "a.button.primary")

    for number in range(1, 6):
        page.wait_for_url(f"**/tablet/read/{number}")
        assert page.locator("#reading[lang=ar][dir=rtl]").count() == 1
        assert_mirrored_steps(page)
        check_page(page, f"{shot}-03-read-{number}")
        press(page, "a.button.primary")

    page.wait_for_url("**/tablet/check")
    check_page(page, f"{shot}-04-check")
    for key in ("who_can_see", "delete_shared", "saying_no"):
        press(page, f"#{key}-a", "Space")
    press(page, "main button.primary")
    page.wait_for_selector("[role=alert]")
    assert "المنشور العام يمكن أن يصل إلى كل الناس في العالم." in page.content()
    check_page(page, f"{shot}-04-check-wrong")
    for key, answer in comprehension_answers("media-publication", "ar").items():
        press(page, f"#{key}-{answer}", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/question/1")
    assert (
        "هل يمكننا أن نعرض هذه الصور ومقاطع الفيديو على الطلاب" in page.locator("h1").inner_text()
    )
    assert_large_target(page, "button.answer")
    # Yes first in reading order: on the right.
    yes = page.locator("button.answer.yes").bounding_box()
    no = page.locator("button.answer.no").bounding_box()
    assert yes and no and yes["x"] > no["x"]
    assert page.locator("button.answer.yes").inner_text().strip() == "نعم"
    check_page(page, f"{shot}-05-question-1")
    press(page, "button.answer.yes")
    page.wait_for_url("**/tablet/question/2")
    check_page(page, f"{shot}-05-question-2")
    press(page, "button.answer.no")

    page.wait_for_url("**/tablet/choose")
    check_page(page, f"{shot}-06-summary")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/who")
    check_page(page, f"{shot}-07-who")
    press(page, "#role-patient", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/sign")
    check_page(page, f"{shot}-08-sign")
    draw_signature(page)
    screenshot(page, f"{shot}-08-signed")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/wait")
    check_page(page, f"{shot}-09-wait")

    doctor = tablet_page("landscape")
    doctor.goto(live_server + "/clinician/login")
    doctor.fill("#email", clinician["email"])
    doctor.fill("#password", PASSWORD)
    press(doctor, "button.primary")
    doctor.wait_for_url("**/clinician/")
    doctor.goto(live_server + f"/clinician/requests/{opened['request_id']}")
    press(doctor, "main button.primary")
    doctor.wait_for_load_state()

    page.wait_for_url("**/tablet/done", timeout=15_000)
    assert_right_to_left(page)
    # The code: left to right, its five groups in order on one line, whatever the page's
    # direction.
    code = page.locator(".code")
    assert code.evaluate("e => getComputedStyle(e).direction") == "ltr"
    boxes = code.locator(".code-group").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().toJSON())"
    )
    assert len(boxes) == 5 and len({round(box["top"]) for box in boxes}) == 1
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)
    check_page(page, f"{shot}-10-done")
    press(page, "form.finish button")
    page.get_by_text("من فضلك أعد الجهاز اللوحي").wait_for()
    check_page(page, f"{shot}-11-finished")

    api = opened["api"]
    sha = opened["media"]["sha256"]
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"


def test_switching_to_arabic_on_a_reading_page_keeps_the_place(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    opened: dict[str, Any],  # noqa: F811
) -> None:
    page = ipad(tablet_page, "landscape")
    page.goto(live_server + opened["path"])
    page.goto(live_server + "/tablet/read/3")
    assert page.locator("#reading[lang=en]").count() == 1
    press(page, "form.language button[lang=ar]")
    page.locator("form.language button[lang=en]").wait_for()
    assert page.url.endswith("/tablet/read/3")
    assert page.locator("#reading[lang=ar][dir=rtl]").count() == 1
    assert_right_to_left(page)
    check_page(page, "ar-switch-read-3")
    # And back to French, still on the same page.
    press(page, "form.language button[lang=fr]")
    page.locator("form.language button[lang=ar]").wait_for()
    assert page.url.endswith("/tablet/read/3")
    assert page.locator("html").get_attribute("dir") is None  # left to right, the default
    assert page.locator("#reading[lang=fr]").count() == 1
