"""A video on the tablet with "Yes, only with my face hidden" (issue 19), in Chromium, in French:
once its face-masked copy is made, the media page plays it beside the original and the question
offers the face-hidden answer; while it is being made, the pages say so and offer yes or no.
Every page: axe-core WCAG 2.1 A/AA at 100% and 200%, a screenshot."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.test_patient_path import check_page, press
from tests.factories import Flow, comprehension_answers
from tests.pages.test_masked_video import face_video  # noqa: F401 (fixture)
from tests.pages.test_tablet_flow import PASSWORD, clinician  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def _to_question(page: Any) -> None:
    press(page, "a.button.primary")
    for number in range(1, 6):
        page.wait_for_url(f"**/tablet/read/{number}")
        press(page, "a.button.primary")
    page.wait_for_url("**/tablet/check")
    for key, answer in comprehension_answers("media-publication", "fr").items():
        press(page, f"#{key}-{answer}", "Space")
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/question/1")


def _clinician_checks(live_server: str, tablet_page: Any, email: str, request_id: str) -> None:
    """The clinician's page before the tablet opens: the video's frame with its boxes, and the
    form to change them."""
    doctor = tablet_page("landscape", locale="fr-FR")
    doctor.goto(live_server + "/clinician/login")
    doctor.fill("#email", email)
    doctor.fill("#password", PASSWORD)
    press(doctor, "button.primary")
    doctor.wait_for_url("**/clinician/")
    doctor.goto(live_server + f"/clinician/requests/{request_id}#faces")
    preview = doctor.locator("img.faces-preview")
    preview.scroll_into_view_if_needed()
    preview.evaluate("i => i.decode ? i.decode() : null")
    assert preview.evaluate("i => i.complete && i.naturalWidth > 0")
    assert "Enregistrer les cadres de la vidéo 1" in doctor.locator("main").inner_text()
    check_page(doctor, "masked-video-fr-00-clinician-faces")


def _open(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    key: str,
    video: bytes,
    doctor: str | None = None,
) -> Any:
    from consent.workflows.masked_video import wait_for_masked_videos

    api = Flow(app.test_client(), key)
    patient = api.patient()
    media = api.media(patient, video, name="film.mp4")
    wait_for_masked_videos()
    created = api.open_request(
        patient,
        [media["id"]],
        [{"purpose": "teaching"}, {"purpose": "public_social_network"}],
        expires_at="2031-01-01T00:00:00Z",
    )
    if doctor is not None:
        _clinician_checks(live_server, tablet_page, doctor, created["id"])
    page = tablet_page("portrait", locale="fr-FR")
    page.goto(live_server + created["signing_url"][len("http://consent.test") :])
    press(page, "form.language button[lang=fr]")
    page.locator("form.language button[lang=en]").wait_for()
    press(page, "a.button.primary")
    page.wait_for_url("**/tablet/media")
    return page


def test_the_masked_video_plays_beside_the_original_and_the_answer_is_offered(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,  # noqa: F811
) -> None:
    page = _open(
        app, live_server, tablet_page, clinician["key"], face_video, doctor=clinician["email"]
    )
    videos = page.locator(".media-list video")
    assert videos.count() == 2
    assert "Vidéo 1 avec le visage caché" in page.locator("main").inner_text()
    for index in range(2):
        video = videos.nth(index)
        video.scroll_into_view_if_needed()
        page.wait_for_function(
            "v => v.readyState >= 1 && v.videoWidth > 0", arg=video.element_handle()
        )
    check_page(page, "masked-video-fr-01-media")
    _to_question(page)
    assert page.locator("button.answer.hidden-face").inner_text() == (
        "Oui, seulement avec mon visage caché"
    )
    check_page(page, "masked-video-fr-02-question")


def test_while_the_masked_video_is_made_the_pages_say_so(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("consent.workflows.masked_video.start_masked_video", lambda f, j: None)
    monkeypatch.setattr("consent.workflows.face_mask.start_masked_video", lambda f, j: None)
    page = _open(app, live_server, tablet_page, clinician["key"], face_video)
    assert "encore en préparation" in page.locator("main").inner_text()
    assert page.locator(".media-list video").count() == 1
    check_page(page, "masked-video-fr-03-media-preparing")
    _to_question(page)
    assert page.locator("button.answer.hidden-face").count() == 0
    assert "Pour l'instant, vous pouvez répondre Oui ou Non." in page.locator("main").inner_text()
    check_page(page, "masked-video-fr-04-question-preparing")
