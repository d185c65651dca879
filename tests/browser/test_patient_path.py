"""The patient's path in Chromium, as a patient would walk it, in English, French and Arabic: open
the link, read five pages, fail then pass the check, answer one question a screen with large
buttons, check and change an answer on the summary, draw a signature with pointer events,
submit; the clinician confirms; the tablet moves on by itself to the last page (the code in
unbreakable groups, the QR code for the phone, Finish). Every page: axe-core WCAG 2.1 A/AA, 200%
zoom, a screenshot (tests/browser/screenshots/<language>-*); both orientations. Then verify
answers allowed for the granted use, not_covered for the other.

Arabic (issue 21), on an iPad-size tablet: the patient chooses العربية on the first page, the
page turns right to left (dir="rtl" lang="ar" on the html element) and the form's text becomes
the Arabic form; the progress and the Back / Next row are mirrored, the withdrawal code stays
left to right in its groups of four. A switch to Arabic on a reading page keeps the place."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.helpers import (
    assert_no_axe_violations,
    assert_no_horizontal_scroll,
    assert_right_to_left,
    ipad,
    screenshot,
    zoom_200,
)
from tests.factories import comprehension_answers
from tests.pages.test_tablet_flow import PASSWORD, clinician, opened  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def check_page(page: Any, name: str) -> None:
    """Accessibility and layout checks on the page as it is now, at 100% then 200% zoom."""
    assert_no_axe_violations(page, context=name)
    assert_no_horizontal_scroll(page, context=name)
    screenshot(page, name)
    size = page.viewport_size
    zoom_200(page)
    assert_no_horizontal_scroll(page, context=f"{name} at 200%")
    assert_no_axe_violations(page, context=f"{name} at 200%")
    screenshot(page, f"{name}-zoom-200")
    page.set_viewport_size(size)


def press(page: Any, selector: str, key: str = "Enter") -> None:
    """Operate a control from the keyboard: focus it, press a key."""
    page.locator(selector).focus()
    page.keyboard.press(key)


def draw_signature(page: Any) -> None:
    box = page.locator("#signature-pad").bounding_box()
    assert box and box["width"] > 200
    left, middle = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(left, middle)
    page.mouse.down()
    for step in range(1, 41):
        page.mouse.move(left + step * 6, middle + (15 if step % 4 < 2 else -15), steps=2)
        page.wait_for_timeout(10)
    page.mouse.up()


def assert_large_target(page: Any, selector: str) -> None:
    """Issue 21: answers are large buttons, at least 48x48 CSS pixels."""
    for box in page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {w: r.width, h: r.height}; })"
    ):
        assert box["w"] >= 48 and box["h"] >= 48, box


def assert_mirrored_steps(page: Any) -> None:
    """Back on the right, going on (the primary button) on its left; the bar runs from the right."""
    back = page.locator("nav.steps a.button:not(.primary)").bounding_box()
    forward = page.locator("nav.steps .primary").bounding_box()
    assert back and forward and back["x"] > forward["x"], (back, forward)
    assert (
        page.locator(".progress progress").evaluate("e => getComputedStyle(e).direction") == "rtl"
    )


# Each language's words, and how its walk starts: the browser's locale, the language the
# patient switches to on the first page (English is the default), right to left or not.
TEXT = {
    "en": {
        "locale": "en-GB",
        "switch": None,
        "rtl": False,
        "title": "Your photos and videos",
        "wrong": "A public post can reach anyone in the world.",
        "question": "May we show these photos and videos to students and health workers",
        "yes": "Yes",
        "pending": "The patient has signed",
        "handed": "Please hand the tablet back",
    },
    "fr": {
        "locale": "fr-FR",
        "switch": "Français",
        "rtl": False,
        "title": "Vos photos et vidéos",
        "wrong": "Tout le monde, partout, peut voir une image publique.",
        "question": "Pouvons-nous montrer ces photos et vidéos à des étudiants et des soignants",
        "yes": "Oui",
        "pending": "The patient has signed",
        "handed": "Merci de rendre la tablette",
    },
    "ar": {
        "locale": "ar",
        "switch": "العربية",
        "rtl": True,
        "title": "صورك ومقاطع الفيديو",
        "wrong": "المنشور العام يمكن أن يصل إلى كل الناس في العالم.",
        "question": "هل يمكننا أن نعرض هذه الصور ومقاطع الفيديو على الطلاب",
        "yes": "نعم",
        "pending": "The patient has signed",  # the clinician's page, in English
        "handed": "من فضلك أعد الجهاز اللوحي",
    },
}


@pytest.mark.parametrize("language", sorted(TEXT))
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_patient_signs_on_the_tablet_and_verify_follows(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    opened: dict[str, Any],  # noqa: F811
    orientation: str,
    language: str,
) -> None:
    words = TEXT[language]
    shot = f"{language}-{orientation}"
    if words["rtl"]:
        page = ipad(tablet_page, orientation, locale=words["locale"])
    else:
        page = tablet_page(orientation, locale=words["locale"])
    page.goto(live_server + opened["path"])
    if words["switch"]:
        # The patient switches language on the first page, offered in its own words and
        # direction: the form's text follows.
        switch = page.locator(f"form.language button[lang={language}]")
        assert switch.inner_text() == words["switch"]
        assert switch.get_attribute("dir") == ("rtl" if words["rtl"] else "ltr")
        press(page, f"form.language button[lang={language}]")
        page.locator("form.language button[lang=en]").wait_for()
        assert page.url.endswith("/tablet/start")
    if words["rtl"]:
        assert_right_to_left(page)
    assert page.title().startswith(words["title"])
    check_page(page, f"{shot}-01-start")
    press(page, "a.button.primary")

    page.wait_for_url("**/tablet/media")
    assert page.locator("img").first.evaluate("img => img.complete && img.naturalWidth > 0")
    check_page(page, f"{shot}-02-media")
    press(page, "a.button.primary")

    # Five reading pages at most, with an honest progress (the step counts every screen).
    for number in range(1, 6):
        page.wait_for_url(f"**/tablet/read/{number}")
        direction = "[dir=rtl]" if words["rtl"] else ""
        assert page.locator(f"#reading[lang={language}]{direction}").count() == 1
        if words["rtl"]:
            assert_mirrored_steps(page)
        check_page(page, f"{shot}-03-read-{number}")
        press(page, "a.button.primary")

    page.wait_for_url("**/tablet/check")
    check_page(page, f"{shot}-04-check")
    for key in ("who_can_see", "delete_shared", "saying_no"):
        press(page, f"#{key}-a", "Space")
    press(page, "main button.primary")
    page.wait_for_selector("[role=alert]")
    assert words["wrong"] in page.content()
    check_page(page, f"{shot}-04-check-wrong")
    for key, answer in comprehension_answers("media-publication", language).items():
        press(page, f"#{key}-{answer}", "Space")
    press(page, "main button.primary")

    # One use a screen, asked as a question; large Yes/No buttons; nothing answered before.
    page.wait_for_url("**/tablet/question/1")
    assert words["question"] in page.locator("h1").inner_text()
    assert page.locator("[aria-pressed=true]").count() == 0
    assert_large_target(page, "button.answer")
    # Yes first in reading order: on the left, or on the right in Arabic.
    yes = page.locator("button.answer.yes").bounding_box()
    no = page.locator("button.answer.no").bounding_box()
    assert yes and no and (yes["x"] > no["x"] if words["rtl"] else yes["x"] < no["x"])
    assert page.locator("button.answer.yes").inner_text().strip() == words["yes"]
    check_page(page, f"{shot}-05-question-1")
    press(page, "button.answer.yes")
    page.wait_for_url("**/tablet/question/2")
    check_page(page, f"{shot}-05-question-2")
    press(page, "button.answer.no")

    # The summary, to check and change before signing.
    page.wait_for_url("**/tablet/choose")
    check_page(page, f"{shot}-06-summary")
    assert_large_target(page, ".answers a.button")
    press(page, ".answers li:nth-child(2) a.button")
    page.wait_for_url("**/tablet/question/2?back=summary")
    press(page, "button.answer.no")
    page.wait_for_url("**/tablet/choose")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/who")
    check_page(page, f"{shot}-07-who")
    press(page, "#role-patient", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/sign")
    check_page(page, f"{shot}-08-sign")
    press(page, "main button.primary")  # nothing drawn: refused, with a message
    page.wait_for_selector("[role=alert]")
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
    assert words["pending"] in doctor.content()
    press(doctor, "main button.primary")
    doctor.wait_for_load_state()

    # The waiting tablet notices the confirmation by itself (wait.js) and shows the summary.
    page.wait_for_url("**/tablet/done", timeout=15_000)
    if words["rtl"]:
        assert_right_to_left(page)
    # The code: left to right, its five groups in order, whatever the page's direction.
    code = page.locator(".code")
    assert code.evaluate("e => getComputedStyle(e).direction") == "ltr"
    groups = code.locator(".code-group")
    assert groups.count() == 5
    boxes = groups.evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)
    # The whole code stays on one line, sized to its box (the tablet's width, either way up).
    assert len({round(box["top"]) for box in boxes}) == 1
    assert page.locator("svg.qr").count() == 1
    assert "http://" not in page.locator("main").inner_text()
    check_page(page, f"{shot}-10-done")
    press(page, "form.finish button")
    page.get_by_text(words["handed"]).wait_for()
    check_page(page, f"{shot}-11-finished")

    api = opened["api"]
    sha = opened["media"]["sha256"]
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    assert api.verify(sha, "public_social_network")["answer"]["decision"] == "not_covered"


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
