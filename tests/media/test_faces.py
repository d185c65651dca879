"""Faces (issue 19): found at upload, hidden in the face-masked copy, and "yes, only with my face
hidden" answered ``masked_only`` for the original and ``allowed`` for the masked copy."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import imagehash
import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from skimage import data as skimage_data

from consent.db import db
from consent.media.faces import faces_in_photo, masked_copy, parse_faces
from consent.media.models import MediaItem, MediaRendition
from tests.factories import (
    Flow,
    api_key,
    comprehension_answers,
    csrf,
    evidence,
    jpeg,
    photo,
    reencode,
)

PUBLIC = "public_social_network"


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def astronaut(size: tuple[int, int] = (1024, 1024)) -> bytes:
    """A photo with one face (scikit-image's bundled astronaut, Eileen Collins, NASA)."""
    return jpeg(Image.fromarray(skimage_data.astronaut()).resize(size))


# Where the astronaut's face is in the 1024 px photo (its centre, measured by eye).
FACE_CENTRE = (450, 225)


def _covers(boxes: list[Any], point: tuple[int, int]) -> bool:
    return any(b.x <= point[0] <= b.x + b.w and b.y <= point[1] <= b.y + b.h for b in boxes)


def test_the_detector_finds_the_face_and_none_in_a_photo_without_one() -> None:
    assert _covers(faces_in_photo(io.BytesIO(astronaut()), max_pixels=50_000_000), FACE_CENTRE)
    assert faces_in_photo(io.BytesIO(photo(3)), max_pixels=50_000_000) == []


def test_the_masked_copy_has_no_face_the_detector_can_find() -> None:
    original = astronaut((2000, 2000))
    boxes = faces_in_photo(io.BytesIO(original), max_pixels=50_000_000)
    assert boxes
    hidden, _boxes = masked_copy(original, "image/jpeg", boxes, max_pixels=50_000_000)
    assert faces_in_photo(io.BytesIO(hidden), max_pixels=50_000_000) == []
    with Image.open(io.BytesIO(hidden)) as image:
        assert image.size == (2000, 2000)
        assert not image.getexif()
        # Only the face's region changed: the rest is the same picture.
        after = np.asarray(image.convert("L"), float)
    with Image.open(io.BytesIO(original)) as image:
        before = np.asarray(image.convert("L"), float)
    box = boxes[0]
    assert np.abs(after[:, : box.x // 2] - before[:, : box.x // 2]).mean() < 3


def test_upload_records_the_face_boxes(flow: Flow, app: Any) -> None:
    media = flow.media(flow.patient(), astronaut())
    with app.app_context():
        item = db.session.get(MediaItem, media["id"])
        boxes = parse_faces(item.faces)
    assert boxes is not None and _covers(boxes, FACE_CENTRE)
    assert {box.by for box in boxes} == {"detector"}
    # The upload's answer names them too: an integration can tell its user to check them.
    assert media["faces"] == [box.as_json() for box in boxes]


def _masked_only_consent(flow: Flow, data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    patient = flow.patient()
    media = flow.media(patient, data)
    uses = [{"purpose": PUBLIC, "channels": []}, {"purpose": "teaching", "channels": []}]
    request_id = flow.request(patient, [media["id"]], uses)
    body = {
        "signer": {"role": "patient"},
        "choices": [
            {"purpose": PUBLIC, "granted": True, "face": "hidden"},
            {"purpose": "teaching", "granted": True},
        ],
        "method": "external",
        "evidence": evidence(),
    }
    response = flow.client.post(
        f"/api/v1/requests/{request_id}/decision", json=body, headers=flow.headers
    )
    assert response.status_code == 201, response.json
    return media, response.json


def test_masked_only_grant_answers_masked_only_for_the_original(flow: Flow, app: Any) -> None:
    media, decision = _masked_only_consent(flow, astronaut())
    receipt = decision["receipt"]["receipt"]
    assert receipt["receipt_version"] == 3
    public = next(use for use in receipt["uses"] if use["purpose"] == PUBLIC)
    assert public == {"purpose": PUBLIC, "channels": [], "granted": True, "face": "hidden"}
    masked_sha256 = receipt["media"][0]["masked_sha256"]
    with app.app_context():
        rendition = db.session.query(MediaRendition).filter_by(media_id=media["id"]).one()
        assert (rendition.kind, rendition.sha256) == ("face-masked", masked_sha256)

    answer = flow.verify(media["sha256"], PUBLIC)["answer"]
    assert answer["decision"] == "masked_only"
    assert answer["masked_sha256"] == masked_sha256
    # A use granted plainly is still allowed for the original, with no masked copy named.
    teaching = flow.verify(media["sha256"], "teaching")["answer"]
    assert teaching["decision"] == "allowed" and "masked_sha256" not in teaching


def test_the_masked_copy_is_allowed_exact_and_reencoded(flow: Flow) -> None:
    media, _decision = _masked_only_consent(flow, astronaut())
    response = flow.client.get(f"/api/v1/media/{media['id']}/masked", headers=flow.headers)
    assert response.status_code == 200, response.json
    copy = response.get_data()
    sha256 = hashlib.sha256(copy).hexdigest()
    exact = flow.verify(sha256, PUBLIC)["answer"]
    assert exact["decision"] == "allowed"
    assert exact["match"]["rendition"] == "face-masked"
    assert exact["match"]["rendition_of"] == media["sha256"]
    assert exact["grants"] == [{"purpose": PUBLIC, "channels": [], "face": "hidden"}]

    near = flow.verify_upload(reencode(copy, quality=70, scale=0.8), PUBLIC)["answer"]
    assert near["match"]["kind"] == "perceptual"
    assert near["match"]["rendition"] == "face-masked"
    assert near["decision"] == "allowed"
    # The original re-encoded is still the original: masked only.
    original = flow.verify_upload(reencode(astronaut(), quality=70, scale=0.8), PUBLIC)["answer"]
    assert original["decision"] == "masked_only"
    assert original["masked_sha256"] == sha256


def test_a_face_hidden_answer_needs_a_yes(flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(4))
    request_id = flow.request(patient, [media["id"]], [{"purpose": PUBLIC, "channels": []}])
    body = {
        "signer": {"role": "patient"},
        "choices": [{"purpose": PUBLIC, "granted": False, "face": "hidden"}],
        "method": "external",
        "evidence": evidence(),
    }
    response = flow.client.post(
        f"/api/v1/requests/{request_id}/decision", json=body, headers=flow.headers
    )
    assert response.status_code == 422


def test_nothing_boxed_nothing_to_hide(flow: Flow, app: Any) -> None:
    """A photo with no face boxed (none found, none drawn): "yes, only with my face hidden"
    would make a copy that hides nothing, so a face the detector missed could be published
    under that promise. The tablet does not offer it, and a decision asking for it is refused
    with a clear error; nothing is recorded."""
    patient = flow.patient()
    media = flow.media(patient, photo(4))
    assert media["faces"] == []
    opened = flow.open_request(patient, [media["id"]], [{"purpose": PUBLIC, "channels": []}])
    tablet = app.test_client()
    tablet.get(opened["signing_url"][len("http://consent.test") :])
    tablet.get("/tablet/start")
    shown = tablet.get("/tablet/media").get_data(as_text=True)
    assert f"/tablet/media/{media['id']}" in shown and "/masked" not in shown
    check = tablet.get("/tablet/check").get_data(as_text=True)
    tablet.post("/tablet/check", data={"csrf_token": csrf(check), **comprehension_answers()})
    question = tablet.get("/tablet/question/1").get_data(as_text=True)
    assert 'value="yes"' in question and 'value="hidden"' not in question

    body = {
        "signer": {"role": "patient"},
        "choices": [{"purpose": PUBLIC, "granted": True, "face": "hidden"}],
        "method": "external",
        "evidence": evidence(),
    }
    refused = flow.client.post(
        f"/api/v1/requests/{opened['id']}/decision", json=body, headers=flow.headers
    )
    assert refused.status_code == 422, refused.json
    assert "No face is boxed" in refused.json["message"]
    answer = flow.verify(media["sha256"], PUBLIC)["answer"]
    assert answer["decision"] == "not_covered" and answer["consent_id"] is None


@pytest.mark.parametrize("language", ["en", "fr"])
def test_paper_form_and_receipt_tell_the_patient_about_their_face(
    flow: Flow, language: str
) -> None:
    from tests.factories import scan_pdf
    from tests.pdf.readback import pdf_text

    words = {
        "en": (
            "Your face can be seen in this photo.",
            "Yes, only with my face hidden",
            "Yes, only with your face hidden:",
            "With your face hidden",
        ),
        "fr": (
            "On peut voir votre visage sur cette photo.",
            "Oui, seulement avec mon visage caché",
            "Oui, seulement avec votre visage caché",
            "Avec votre visage caché",
        ),
    }[language]
    patient = flow.patient()
    media = flow.media(patient, astronaut())
    uses = [{"purpose": PUBLIC, "channels": []}, {"purpose": "teaching", "channels": []}]
    request_id = flow.request(patient, [media["id"]], uses, language=language)
    form = flow.client.get(f"/api/v1/requests/{request_id}/form.pdf", headers=flow.headers)
    text = " ".join(pdf_text(form.get_data()).split())
    assert words[0] in text and words[1] in text
    response = flow.paper(request_id, {PUBLIC: "face_hidden", "teaching": "refused"}, scan_pdf())
    assert response.status_code == 201, response.json
    receipt = response.json["receipt"]["receipt"]
    assert next(u for u in receipt["uses"] if u["purpose"] == PUBLIC)["face"] == "hidden"
    consent_id = response.json["consent_id"]
    pdf = flow.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=flow.headers)
    text = " ".join(pdf_text(pdf.get_data()).split())
    assert words[0] in text and words[2] in text
    assert flow.verify(media["sha256"], PUBLIC)["answer"]["decision"] == "masked_only"
    # The receipt shows the face-hidden copy beside the photo: what may be published.
    assert words[3] in text
    copy = flow.client.get(f"/api/v1/media/{media['id']}/masked", headers=flow.headers)
    shown = [
        imagehash.phash(Image.open(io.BytesIO(image.data)))
        for page in PdfReader(io.BytesIO(pdf.get_data())).pages
        for image in page.images
    ]
    original = imagehash.phash(Image.open(io.BytesIO(astronaut())))
    masked = imagehash.phash(Image.open(io.BytesIO(copy.get_data())))
    # One of the pictures (beside the photo, the signature and QR codes) is the masked copy:
    # nearer to it than to the original.
    assert any(seen - masked < seen - original for seen in shown)


def test_the_mask_reaches_below_the_chin_and_above_the_hairline() -> None:
    """The cascade's box ends at the mouth or the top of the chin: the mask grows further down
    (chin, jaw) than up, and sideways (ears); looked at on astronaut, camera and LFW faces."""
    original = astronaut()
    boxes = faces_in_photo(io.BytesIO(original), max_pixels=50_000_000)
    face = next(b for b in boxes if _covers([b], FACE_CENTRE))
    hidden, _boxes = masked_copy(original, "image/jpeg", [face], max_pixels=50_000_000)
    with Image.open(io.BytesIO(hidden)) as image:
        after = np.asarray(image.convert("L"), float)
    with Image.open(io.BytesIO(original)) as image:
        before = np.asarray(image.convert("L"), float)
    centre_x = face.x + face.w // 2
    below_chin = face.y + face.h + int(face.h * 0.55)
    assert (
        np.abs(
            after[below_chin - 4 : below_chin, centre_x - 40 : centre_x + 40]
            - before[below_chin - 4 : below_chin, centre_x - 40 : centre_x + 40]
        ).mean()
        > 5
    )
    above = face.y - int(face.h * 0.35)
    assert (
        np.abs(
            after[above : above + 4, centre_x - 40 : centre_x + 40]
            - before[above : above + 4, centre_x - 40 : centre_x + 40]
        ).mean()
        > 5
    )


def test_faces_are_detected_in_several_threads_at_once() -> None:
    """A face-masked video is checked in a background thread while uploads are looked at in
    request threads: one shared OpenCV classifier fails then (vector range errors)."""
    import threading

    from consent.media.faces import detect

    gray = np.asarray(Image.fromarray(skimage_data.astronaut()).convert("L"))
    small = np.asarray(Image.fromarray(gray).resize((320, 320)))
    failures: list[BaseException] = []

    def look(image: Any) -> None:
        for _ in range(30):
            try:
                detect(image)
            except Exception as exc:  # any failure is the finding
                failures.append(exc)

    threads = [threading.Thread(target=look, args=(image,)) for image in (gray, small) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
