"""The paper path's clinician pages in Chromium, from the keyboard: the error summary, the
choices as ticked, the scan, and the withdrawal code; axe-core WCAG 2.1 A/AA and 200% zoom."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, photo, scan_pdf
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_clinician_records_a_paper_form_from_the_keyboard(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, photo(41))
    request_id = api.request(
        patient, [media["id"]], [{"purpose": "teaching"}, {"purpose": "survey"}]
    )
    page = tablet_page("landscape")
    page.goto(live_server + "/clinician/login")
    page.fill("#email", clinician["email"])
    page.fill("#password", PASSWORD)
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/")

    page.goto(live_server + f"/clinician/requests/{request_id}")
    press(page, f"a[href='/clinician/requests/{request_id}/paper']")
    page.wait_for_url("**/paper")
    check_page(page, "clinician-paper-form")

    press(page, "#teaching-granted", "Space")
    press(page, "main button.primary")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    check_page(page, "clinician-paper-form-errors")

    press(page, "#survey-refused", "Space")
    press(page, "#role-patient", "Space")
    scan = tmp_path / "signed.pdf"
    scan.write_bytes(scan_pdf())
    page.set_input_files("#scan", str(scan))
    press(page, "main button.primary")
    page.wait_for_url("**/paper/done")
    assert page.locator("p.code").inner_text()
    check_page(page, "clinician-paper-done")
    assert api.verify(media["sha256"], "teaching")["answer"]["decision"] == "allowed"
    assert api.verify(media["sha256"], "survey")["answer"]["decision"] == "not_covered"
