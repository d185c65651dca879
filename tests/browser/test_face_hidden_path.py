"""The tablet path with "Yes, only with my face hidden" (issue 19), in Chromium, in English and
in French: the media page says the patient's face can be seen and shows the masked copy beside
the photo; the patient answers the first use with their face hidden, from the keyboard; the
clinician confirms. Every page: axe-core WCAG 2.1 A/AA at 100% and 200%, a screenshot. Then
verify answers masked_only for the photo, naming the copy, and allowed for the copy."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_patient_path import check_page, draw_signature, press
from tests.factories import Flow, comprehension_answers
from tests.media.test_faces import astronaut
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

TEXT = {
    "en": {
        "face": "Your face can be seen in this photo.",
        "hidden": "Yes, only with my face hidden",
        "pending": "The patient has signed",
    },
    "fr": {
        "face": "On peut voir votre visage sur cette photo.",
        "hidden": "Oui, seulement avec mon visage caché",
        "pending": "Le patient a signé",
    },
}


@pytest.fixture
def opened(app: Flask, clinician: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    api = Flow(app.test_client(), clinician["key"])
    patient = api.patient()
    media = api.media(patient, astronaut())
    created = api.open_request(
        patient,
        [media["id"]],
        [{"purpose": "teaching"}, {"purpose": "public_social_network"}],
        expires_at="2031-01-01T00:00:00Z",
    )
    url = created["signing_url"]
    return {
        "api": api,
        "media": media,
        "request_id": created["id"],
        "path": url[len("http://consent.test") :],
    }


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_patient_answers_yes_with_the_face_hidden(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    opened: dict[str, Any],
    language: str,
) -> None:
    words = TEXT[language]
    shot = f"faces-{language}"
    # The clinician checks the face boxes first (the form, the photo with its boxes drawn).
    doctor = tablet_page("landscape", locale="en-GB" if language == "en" else "fr-FR")
    doctor.goto(live_server + "/clinician/login")
    doctor.fill("#email", clinician["email"])
    doctor.fill("#password", PASSWORD)
    press(doctor, "button.primary")
    doctor.wait_for_url("**/clinician/")
    doctor.goto(live_server + f"/clinician/requests/{opened['request_id']}#faces")
    assert doctor.locator("input[name=box-1-x]").count() == 1
    preview = doctor.locator("img.faces-preview")
    preview.scroll_into_view_if_needed()
    preview.evaluate("i => i.decode ? i.decode() : null")
    assert preview.evaluate("i => i.complete && i.naturalWidth > 0")
    check_page(doctor, f"{shot}-00-clinician-faces")
    page = tablet_page("portrait", locale="en-GB" if language == "en" else "fr-FR")
    page.goto(live_server + opened["path"])
    if language == "fr":
        press(page, "form.language button[lang=fr]")
        page.locator("form.language button[lang=en]").wait_for()
    press(page, "a.button.primary")

    page.wait_for_url("**/tablet/media")
    assert words["face"] in page.locator("main").inner_text()
    images = page.locator(".media-list img")
    assert images.count() == 2
    for index in range(2):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        image.evaluate("i => i.decode ? i.decode() : null")
        assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    check_page(page, f"{shot}-01-media")
    press(page, "a.button.primary")
    for number in range(1, 6):
        page.wait_for_url(f"**/tablet/read/{number}")
        press(page, "a.button.primary")
    page.wait_for_url("**/tablet/check")
    for key, answer in comprehension_answers("media-publication", language).items():
        press(page, f"#{key}-{answer}", "Space")
    press(page, "main button.primary")

    page.wait_for_url("**/tablet/question/1")
    assert page.locator("button.answer.hidden-face").inner_text() == words["hidden"]
    check_page(page, f"{shot}-02-question")
    press(page, "button.answer.hidden-face")
    page.wait_for_url("**/tablet/question/2")
    press(page, "button.answer.no")

    page.wait_for_url("**/tablet/choose")
    assert words["hidden"] in page.locator(".answers").inner_text()
    check_page(page, f"{shot}-03-summary")
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/who")
    press(page, "#role-patient", "Space")
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/sign")
    assert words["hidden"] in page.locator("main").inner_text()
    check_page(page, f"{shot}-04-sign")
    draw_signature(page)
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/wait")

    doctor.goto(live_server + f"/clinician/requests/{opened['request_id']}")
    assert words["pending"] in doctor.content()
    press(doctor, "main button.primary")
    doctor.wait_for_load_state()
    page.wait_for_url("**/tablet/done", timeout=30_000)
    check_page(page, f"{shot}-05-done")

    api: Flow = opened["api"]
    answer = api.verify(opened["media"]["sha256"], "teaching")["answer"]
    assert answer["decision"] == "masked_only"
    copy = api.client.get(f"/api/v1/media/{opened['media']['id']}/masked", headers=api.headers)
    assert hashlib.sha256(copy.get_data()).hexdigest() == answer["masked_sha256"]
    assert api.verify(answer["masked_sha256"], "teaching")["answer"]["decision"] == "allowed"
    refused = api.verify(opened["media"]["sha256"], "public_social_network")["answer"]
    assert refused["decision"] == "not_covered"
