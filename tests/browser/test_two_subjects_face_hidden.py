"""Two people in one photo, one of whom agrees only with their face hidden (issue 19, its
"done when" walk), in Chromium, in English, French and Arabic.

Jeanne and Paul are both seen in one photo. The clinician opens a request for Jeanne: Paul gets
his own, in the same group, with his own tablet link. Each walks the tablet on their own tablet:
the media page tells them that faces can be seen and that other people are in the photo and
decide too, and shows the face-hidden copy beside the photo. Jeanne answers "Yes, only with my
face hidden" for teaching and no for social media; Paul answers yes to teaching. The clinician
confirms each. Then verify: the photo is ``masked_only`` (two subjects, each named by their
governing consent), the face-hidden copy ``allowed``, social media ``not_covered``. Every page:
axe-core WCAG 2.1 A/AA at 100% and 200%, no sideways scrolling, a screenshot.
"""

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

LOCALES = {"en": "en-GB", "fr": "fr-FR", "ar": "ar"}
WORDS = {
    "en": {
        "faces": "Faces can be seen in this photo.",
        "others": "Other people can be seen in this photo too.",
        "hidden": "Yes, only with my face hidden",
    },
    "fr": {
        "faces": "On peut voir des visages sur cette photo.",
        "others": "On peut voir d'autres personnes sur cette photo.",
        "hidden": "Oui, seulement avec mon visage caché",
    },
    "ar": {
        "faces": "تظهر وجوه في هذه الصورة.",
        "others": "يظهر في هذه الصورة أشخاص آخرون أيضًا.",
        "hidden": "نعم، فقط مع إخفاء وجهي",
    },
}
USES = [{"purpose": "teaching"}, {"purpose": "public_social_network"}]


def walk_the_tablet(
    page: Any, live_server: str, path: str, language: str, answers: list[str], shot: str
) -> None:
    """One patient's tablet, from the link to the wait for the clinician: every page checked.
    ``answers``: per question, the class of the answer button (yes, no, hidden-face)."""
    words = WORDS[language]
    page.goto(live_server + path)
    if language != "en":
        press(page, f"form.language button[lang={language}]")
        page.wait_for_selector(f"html[lang={language}]")
    check_page(page, f"{shot}-00-start")
    press(page, "a.button.primary")

    page.wait_for_url("**/tablet/media")
    main = page.locator("main").inner_text()
    assert words["faces"] in main and words["others"] in main, main
    images = page.locator(".media-list img")
    assert images.count() == 2  # the photo and its face-hidden copy, side by side
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

    for number, answer in enumerate(answers, start=1):
        page.wait_for_url(f"**/tablet/question/{number}")
        assert page.locator("button.answer.hidden-face").inner_text() == words["hidden"]
        if number == 1:
            check_page(page, f"{shot}-02-question")
        press(page, f"button.answer.{answer}")

    page.wait_for_url("**/tablet/choose")
    check_page(page, f"{shot}-03-summary")
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/who")
    press(page, "#role-patient", "Space")
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/sign")
    check_page(page, f"{shot}-04-sign")
    draw_signature(page)
    press(page, "main button.primary")
    page.wait_for_url("**/tablet/wait")


def confirm(doctor: Any, live_server: str, request_id: str, tablet: Any, shot: str) -> None:
    """The clinician confirms the patient's decision; the tablet moves on by itself."""
    doctor.goto(live_server + f"/clinician/requests/{request_id}")
    press(doctor, "main button.primary")
    doctor.wait_for_load_state()
    tablet.wait_for_url("**/tablet/done", timeout=30_000)
    check_page(tablet, f"{shot}-05-done")


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_two_people_in_one_photo_one_with_the_face_hidden(
    app: Flask,
    live_server: str,
    tablet_page: Any,
    clinician: dict[str, Any],  # noqa: F811
    language: str,
) -> None:
    api = Flow(app.test_client(), clinician["key"])
    jeanne = api.patient(name="Jeanne Martin")
    paul = api.patient(name="Paul Martin")
    media = api.media(jeanne, astronaut())
    added = api.client.post(
        f"/api/v1/media/{media['id']}/subjects", json={"patient_id": paul}, headers=api.headers
    )
    assert added.status_code == 201, added.json
    opened = api.open_request(jeanne, [media["id"]], USES, expires_at="2031-01-01T00:00:00Z")
    (pauls,) = opened["group"]
    assert pauls["patient_id"] == paul
    origin = "http://consent.test"

    doctor = tablet_page("landscape", locale="fr-FR" if language == "fr" else "en-GB")
    doctor.goto(live_server + "/clinician/login")
    doctor.fill("#email", clinician["email"])
    doctor.fill("#password", PASSWORD)
    press(doctor, "button.primary")
    doctor.wait_for_url("**/clinician/")
    doctor.goto(live_server + f"/clinician/requests/{opened['id']}")
    assert "Paul Martin" in doctor.locator("main").inner_text()
    check_page(doctor, f"two-{language}-clinician-request")

    first = tablet_page("portrait", locale=LOCALES[language])
    walk_the_tablet(
        first,
        live_server,
        opened["signing_url"][len(origin) :],
        language,
        ["hidden-face", "no"],
        f"two-{language}-jeanne",
    )
    confirm(doctor, live_server, opened["id"], first, f"two-{language}-jeanne")

    second = tablet_page("landscape", locale=LOCALES[language])
    walk_the_tablet(
        second,
        live_server,
        pauls["signing_url"][len(origin) :],
        language,
        ["yes", "no"],
        f"two-{language}-paul",
    )
    confirm(doctor, live_server, pauls["id"], second, f"two-{language}-paul")

    photo = api.verify(media["sha256"], "teaching")["answer"]
    assert photo["decision"] == "masked_only", photo
    assert photo["subjects"] == 2
    assert sorted(item["decision"] for item in photo["governing"]) == ["allowed", "masked_only"]
    copy = api.client.get(f"/api/v1/media/{media['id']}/masked", headers=api.headers)
    assert hashlib.sha256(copy.get_data()).hexdigest() == photo["masked_sha256"]
    masked = api.verify(photo["masked_sha256"], "teaching")["answer"]
    assert masked["decision"] == "allowed" and masked["subjects"] == 2, masked
    social = api.verify(media["sha256"], "public_social_network")["answer"]
    assert social["decision"] == "not_covered"
