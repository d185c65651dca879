"""The patient's other pages in Arabic (issue 21): the withdrawal pages, the public consent page
and the phone's receipt page, right to left, the codes and addresses left to right; axe-core with
zero violations at 100% and 200% zoom, screenshots (tests/browser/screenshots/ar-*)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.helpers import IPAD, assert_right_to_left, ipad
from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, api_key, photo
from tests.pages.test_receipt_on_phone import done  # noqa: F401 (fixture)
from tests.pages.test_tablet_flow import clinician, opened  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
PUBLIC = "http://consent.test"


@pytest.mark.parametrize("orientation", sorted(IPAD))
def test_patient_withdraws_in_arabic(
    app: Flask, live_server: str, tablet_page: Any, orientation: str
) -> None:
    api = Flow(app.test_client(), api_key())
    decision = api.consent(
        photo(44), {"teaching": True, "public_social_network": True}, language="ar"
    )
    sha = decision["media"]["sha256"]
    code = decision["withdrawal_url"].split("#code=", 1)[1]
    shot = f"ar-withdraw-{orientation}"
    page = ipad(tablet_page, orientation)  # the browser asks for Arabic (Accept-Language: ar)

    page.goto(live_server + "/withdraw")
    assert_right_to_left(page)
    field = page.locator("#code")
    # The code is typed left to right, in a right-to-left page.
    assert field.evaluate("e => getComputedStyle(e).direction") == "ltr"
    field.fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    press(page, "main button.primary")
    page.wait_for_selector("[role=alert]")
    assert "لم نجد موافقة بهذا الرمز" in page.content()
    check_page(page, f"{shot}-1-wrong-code")
    field.fill(code)
    press(page, "main button.primary")

    page.wait_for_url("**/withdraw/consent")
    assert_right_to_left(page)
    assert page.locator("h1").inner_text() == "موافقتك"
    assert page.locator("input[type=checkbox]:checked").count() == 0
    # The consent was signed on the Arabic form: its words, right to left.
    assert page.locator("label[for=use-teaching]").inner_text().strip() == "التعليم"
    check_page(page, f"{shot}-2-consent")
    press(page, "#use-teaching", "Space")
    press(page, "button[value=some]")

    page.wait_for_url("**/withdraw/confirm")
    assert "لا يمكن التراجع عن هذا" in page.content()
    check_page(page, f"{shot}-3-confirm")
    press(page, "main nav button.primary")

    page.wait_for_url("**/withdraw/done")
    assert "سجل سحبك" in page.locator("h1").inner_text()
    check_page(page, f"{shot}-4-done")
    assert api.verify(sha, "teaching")["answer"]["decision"] == "withdrawn"

    page.goto(live_server + f"/v/{decision['consent_id']}")
    assert_right_to_left(page)
    assert "ما تسمح به هذه الموافقة" in page.content()
    assert "التعليم" in page.locator("main").inner_text()
    check_page(page, f"{shot}-5-public")


def test_the_phone_receipt_page_in_arabic(
    live_server: str,
    tablet_page: Any,
    done: dict[str, Any],  # noqa: F811
) -> None:
    page = ipad(tablet_page, "portrait")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(live_server + done["phone_path"])
    assert_right_to_left(page)
    assert "احفظ إيصالي (PDF)" in page.locator("main").inner_text()
    code = page.locator(".code")
    assert code.evaluate("e => getComputedStyle(e).direction") == "ltr"
    boxes = code.locator(".code-group").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().toJSON())"
    )
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)
    check_page(page, "ar-phone-receipt")
