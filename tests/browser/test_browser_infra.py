"""The browser-test tools themselves: Chromium reaches the live server, the vendored
signature_pad loads from /static, the axe helper passes a clean page and fails a broken one
naming the rule, and zoom, keyboard order and screenshots do what the page tests rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.helpers import (
    assert_no_axe_violations,
    assert_no_horizontal_scroll,
    screenshot,
    tab_through,
    zoom,
)

pytestmark = pytest.mark.browser

CLEAN_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Consent to publish</title></head>
<body>
<main>
  <h1>Consent to publish</h1>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Your photo" width="1" height="1">
  <form>
    <fieldset>
      <legend>Teaching</legend>
      <input type="radio" id="teaching-yes" name="teaching" value="yes">
      <label for="teaching-yes">Yes</label>
      <input type="radio" id="teaching-no" name="teaching" value="no">
      <label for="teaching-no">No</label>
    </fieldset>
    <button type="submit">Continue</button>
  </form>
</main>
</body>
</html>"""

# The same page with an image that says nothing to a screen reader (WCAG 1.1.1).
IMAGE_WITHOUT_ALT = CLEAN_PAGE.replace(' alt="Your photo"', "")

# A fixed 700px-wide block: fits a portrait tablet at 100%, not at 200% (WCAG 1.4.10).
FIXED_WIDTH = CLEAN_PAGE.replace("<main>", '<main style="display:block;width:700px">')


def test_chromium_reaches_the_live_server(tablet_page: Any, live_server: str) -> None:
    page = tablet_page()
    response = page.goto(live_server + "/.well-known/consent-keys")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    keys = json.loads(page.locator("body").inner_text())
    assert keys  # the instance's public keys, as the verify API publishes them


def test_vendored_signature_pad_loads_from_static(tablet_page: Any, live_server: str) -> None:
    page = tablet_page()
    page.set_content("<!doctype html><title>blank</title>")
    page.add_script_tag(url=live_server + "/static/vendor/signature_pad/signature_pad.umd.min.js")
    assert page.evaluate("typeof SignaturePad") == "function"


def test_axe_passes_a_clean_page(tablet_page: Any) -> None:
    page = tablet_page()
    page.set_content(CLEAN_PAGE)
    assert_no_axe_violations(page, context="a clean page")


def test_axe_fails_an_image_without_alt_naming_the_rule(tablet_page: Any) -> None:
    page = tablet_page()
    page.set_content(IMAGE_WITHOUT_ALT)
    with pytest.raises(AssertionError) as failure:
        assert_no_axe_violations(page, context="an image without alt")
    message = str(failure.value)
    assert "an image without alt" in message
    assert "- image-alt (critical)" in message
    assert "on: img" in message  # the offending element's selector


def test_tab_through_names_controls_in_keyboard_order(tablet_page: Any) -> None:
    page = tablet_page()
    page.set_content(CLEAN_PAGE)
    # Names come from the <label>s, as a screen reader reads them; one radio group is one stop.
    assert tab_through(page, 2) == ["Yes", "Continue"]


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_zoom_200_halves_the_css_viewport_and_undoes(tablet_page: Any, orientation: str) -> None:
    page = tablet_page(orientation)
    page.set_content(CLEAN_PAGE)
    full = page.viewport_size
    narrow = "matchMedia('(max-width: 600px)').matches"  # media queries see the zoom
    assert not page.evaluate(narrow)
    zoom(page, 2.0)
    assert page.evaluate("innerWidth") == full["width"] // 2
    assert page.evaluate(narrow)
    zoom(page, 1.0)
    assert page.viewport_size == full


def test_horizontal_scroll_is_caught_at_200_percent(tablet_page: Any) -> None:
    page = tablet_page("portrait")
    page.set_content(FIXED_WIDTH)
    assert_no_horizontal_scroll(page, context="100%")
    zoom(page, 2.0)
    with pytest.raises(AssertionError, match="wider than the 384px viewport"):
        assert_no_horizontal_scroll(page, context="200%")


def test_page_opened_at_200_percent_keeps_the_tablet_pixels(tablet_page: Any) -> None:
    page = tablet_page("portrait", zoom=2.0)
    page.set_content(CLEAN_PAGE)
    assert page.evaluate("[innerWidth, devicePixelRatio]") == [384, 2]
    path = screenshot(page, "infra-clean-page-portrait-zoom-200")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(path.read_bytes()[16:20], "big")  # IHDR width
    assert width == 768
