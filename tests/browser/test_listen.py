"""Listen (issue 21): each reading page and each question has a button that reads it aloud with
the device's own voice, shown only when the device has one for the text's language. Chromium
is given a stub of the Web Speech API that records what it is asked to say."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.helpers import assert_no_axe_violations
from tests.factories import comprehension_answers
from tests.pages.test_tablet_flow import clinician, opened  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

STUB = """
window.__spoken = [];
window.__cancelled = 0;
window.SpeechSynthesisUtterance = function (text) { this.text = text; };
Object.defineProperty(window, "speechSynthesis", { value: {
  getVoices: function () { return %s; },
  speak: function (u) { window.__spoken.push({text: u.text, lang: u.lang}); },
  cancel: function () { window.__cancelled += 1; },
  addEventListener: function () {}
}});
"""


def stubbed(page: Any, voices: str) -> Any:
    page.add_init_script(STUB % voices)
    return page


def test_listen_reads_the_page_aloud_in_its_language(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    opened: dict[str, Any],  # noqa: F811
) -> None:
    page = stubbed(tablet_page("portrait"), '[{"lang": "en-GB", "name": "Stub"}]')
    page.goto(live_server + opened["path"])
    page.goto(live_server + "/tablet/read/1")
    button = page.locator("button.listen")
    button.wait_for(state="visible")
    box = button.bounding_box()
    assert box and box["height"] >= 48
    assert_no_axe_violations(page, context="reading page with Listen")
    button.click()
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1 and spoken[0]["lang"] == "en-GB"
    assert "What this form is about" in spoken[0]["text"]
    assert button.get_attribute("aria-pressed") == "true" and "Stop" in button.inner_text()
    button.click()  # a second press stops
    assert page.evaluate("window.__cancelled") >= 1
    assert button.get_attribute("aria-pressed") == "false"

    # The questions too, each in the words asked.
    page.goto(live_server + "/tablet/check")
    for key, answer in comprehension_answers().items():
        page.check(f"#{key}-{answer}")
    page.click("main button.primary")
    page.wait_for_url("**/tablet/question/1")
    page.locator("button.listen").click()
    said = page.evaluate("window.__spoken")[-1]["text"]
    assert "May we show these photos and videos to students and health workers" in said


def test_listen_is_hidden_without_a_voice_for_the_language(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    opened: dict[str, Any],  # noqa: F811
) -> None:
    # A device with a German voice only: nothing to read English with.
    page = stubbed(tablet_page("landscape"), '[{"lang": "de-DE", "name": "Stub"}]')
    page.goto(live_server + opened["path"])
    page.goto(live_server + "/tablet/read/2")
    assert page.locator("button.listen").is_hidden()
    # A French voice appears when the patient switches to French.
    french = stubbed(tablet_page("landscape"), '[{"lang": "fr-FR", "name": "Stub"}]')
    french.context.add_cookies(page.context.cookies())
    french.goto(live_server + "/tablet/read/2")
    assert french.locator("button.listen").is_hidden()  # the page is still in English
    french.click("form.language button[lang=fr]")
    french.locator("form.language button[lang=en]").wait_for()
    # listen.js shows the button once it has looked at the voices: wait for it.
    french.locator("button.listen").wait_for(state="visible")
    french.locator("button.listen").click()
    assert french.evaluate("window.__spoken")[0]["lang"] == "fr-FR"


def test_listen_reads_arabic_with_an_arabic_voice(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    opened: dict[str, Any],  # noqa: F811
) -> None:
    """A patient who chose Arabic hears the Arabic text, with the device's Arabic voice
    (any ar-* region), and the button's own words are Arabic."""
    page = stubbed(
        tablet_page("portrait", locale="ar"),
        '[{"lang": "en-GB", "name": "English"}, {"lang": "ar-SA", "name": "Arabic"}]',
    )
    page.goto(live_server + opened["path"])
    page.click("form.language button[lang=ar]")
    page.locator("form.language button[lang=en]").wait_for()
    page.goto(live_server + "/tablet/read/1")
    assert page.locator("html[lang=ar][dir=rtl]").count() == 1
    button = page.locator("button.listen")
    button.wait_for(state="visible")
    label = button.inner_text()
    assert label.strip() and not any("a" <= ch.lower() <= "z" for ch in label), label
    assert_no_axe_violations(page, context="Arabic reading page with Listen")
    button.click()
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1 and spoken[0]["lang"] == "ar-SA"
    reading = page.locator("#reading").inner_text()
    assert reading.split("\n")[0].strip() in spoken[0]["text"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in spoken[0]["text"])
