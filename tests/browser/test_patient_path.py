"""The patient's path in Chromium, as a patient would walk it: open the link, read, fail then
pass the check, choose, draw a signature with pointer events, submit; the clinician confirms;
the tablet moves on by itself. Every page: axe-core WCAG 2.1 A/AA, 200% zoom, a screenshot;
both orientations. Then verify answers allowed for the granted use, not_covered for the other."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.helpers import (
    assert_no_axe_violations,
    assert_no_horizontal_scroll,
    focus_order,
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


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_patient_signs_on_the_tablet_and_verify_follows(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    opened: dict[str, Any],  # noqa: F811
    orientation: str,
) -> None:
    shot = f"{orientation}"
    page = tablet_page(orientation)
    page.goto(live_server + opened["path"])
    assert page.title().startswith("Your photos and videos")
    check_page(page, f"{shot}-1-start")
    press(page, "a.button.primary")

    page.wait_for_url("**/tablet/media")
    assert page.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    check_page(page, f"{shot}-2-media")
    press(page, "a.button.primary")

    for number in range(1, 13):
        page.wait_for_url(f"**/tablet/read/{number}")
        if number in (1, 4, 12):
            check_page(page, f"{shot}-3-read-{number}")
        press(page, "a.button.primary")

    page.wait_for_url("**/tablet/check")
    check_page(page, f"{shot}-4-check")
    for key in ("who_can_see", "delete_shared", "saying_no"):
        press(page, f"#{key}-a", "Space")
    press(page, "main button.primary")
    page.wait_for_selector("[role=alert]")
    assert "A public post can reach anyone in the world." in page.content()
    check_page(page, f"{shot}-4-check-wrong")
    for key, answer in comprehension_answers().items():
        press(page, f"#{key}-{answer}", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/choose")
    assert page.locator("input[type=radio]:checked").count() == 0  # nothing pre-ticked
    check_page(page, f"{shot}-5-choose")
    order = focus_order(page, 12)
    assert "Yes" in order and "Continue" in order
    press(page, "#teaching-yes", "Space")
    press(page, "#public_social_network-no", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/who")
    check_page(page, f"{shot}-6-who")
    press(page, "#role-patient", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/sign")
    check_page(page, f"{shot}-7-sign")
    press(page, "main button.primary")  # nothing drawn: refused, with a message
    page.wait_for_selector("[role=alert]")
    draw_signature(page)
    screenshot(page, f"{shot}-7-signed")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/wait")
    check_page(page, f"{shot}-8-wait")

    doctor = tablet_page("landscape")
    doctor.goto(live_server + "/clinician/login")
    check_page(doctor, f"{shot}-clinician-login")
    doctor.fill("#email", clinician["email"])
    doctor.fill("#password", PASSWORD)
    press(doctor, "button.primary")
    doctor.wait_for_url("**/clinician/")
    check_page(doctor, f"{shot}-clinician-dashboard")
    doctor.goto(live_server + f"/clinician/requests/{opened['request_id']}")
    assert "The patient has signed" in doctor.content()
    check_page(doctor, f"{shot}-clinician-request-pending")
    press(doctor, "main button.primary")
    doctor.wait_for_load_state()

    # The waiting tablet notices the confirmation by itself (wait.js) and shows the summary.
    page.wait_for_url("**/tablet/done", timeout=15_000)
    code = page.locator(".code").inner_text()
    assert len(code.replace("-", "")) == 20
    assert page.locator("svg.qr").count() == 1
    check_page(page, f"{shot}-9-done")

    api = opened["api"]
    sha = opened["media"]["sha256"]
    assert api.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    assert api.verify(sha, "public_social_network")["answer"]["decision"] == "not_covered"
