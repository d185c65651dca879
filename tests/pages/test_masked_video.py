"""A video's face-masked copy (issue 19): made with FFmpeg in the background after the upload,
every face region hidden for the whole clip and checked by the detector, metadata stripped;
the tablet offers "yes, only with my face hidden" only once it is ready and shows it; the
decision records those stored bytes; verify allows the copy and names it for the original;
an erasure removes it."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from skimage import data as skimage_data
from sqlalchemy import select

from consent.db import db
from consent.ledger.models import LogLeaf
from consent.media import masked_video as masking
from consent.media.faces import FaceBox, faces_in_video
from consent.media.masked import masked_id
from consent.media.models import MediaItem
from consent.media.service import set_faces
from consent.web.context import runtime
from consent.workflows import masked_video as background
from consent.workflows.face_mask import masked_video
from consent.workflows.masked_video import prepare_masked_video, wait_for_masked_videos
from tests.factories import Flow, comprehension_answers, csrf, evidence, scan_pdf
from tests.interop.test_api_schemas import RECEIPT, valid
from tests.pages.test_face_boxes import _faces, _logged_in
from tests.pages.test_tablet_flow import clinician  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="FFmpeg is not installed (Debian package ffmpeg; .ci/run installs it)",
)
PUBLIC = "public_social_network"


@pytest.fixture(scope="module")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """2 s of 320x240 H.264 with a sound track: the astronaut (one face) on a plain ground,
    with the place it was filmed and a title in its metadata."""
    folder = tmp_path_factory.mktemp("masked")
    canvas = Image.new("RGB", (320, 240), (60, 80, 100))
    canvas.paste(Image.fromarray(skimage_data.astronaut()).resize((240, 240)), (40, 0))
    canvas.save(folder / "still.png")
    path = folder / "face.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"),
            *("-loop", "1", "-i", str(folder / "still.png")),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
            *("-t", "2", "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"),
            *("-metadata", "location=+48.8566+002.3522/", "-metadata", "title=Jeanne Martin"),
            *("-y", str(path)),
        ],
        check=True,
        timeout=120,
    )
    data = path.read_bytes()
    assert faces_in_video(io.BytesIO(data))  # the detector sees the face in the original
    return data


def _upload(app: Flask, key: str, data: bytes) -> tuple[Flow, str, dict[str, Any]]:
    api = Flow(app.test_client(), key)
    patient = api.patient()
    media = api.media(patient, data, name="film.mp4")
    return api, patient, media


def _stored(app: Flask, media_id: str) -> Any:
    with app.app_context():
        item = db.session.get_one(MediaItem, media_id)
        return masked_video(db.session, runtime(), item)


def _tags(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "copy.mp4"
    path.write_bytes(data)
    answer = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dict(json.loads(answer.stdout))


def test_the_masked_video_is_made_after_upload_without_faces_or_metadata(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
    tmp_path: Path,
) -> None:
    _api, _patient, media = _upload(app, clinician["key"], face_video)
    wait_for_masked_videos()
    mask = _stored(app, media["id"])
    assert mask is not None and mask.refused is None and mask.data
    assert mask.data[4:8] == b"ftyp" and mask.sha256 == hashlib.sha256(mask.data).hexdigest()
    # Every second of the copy looked at by the detector: no face left.
    assert faces_in_video(io.BytesIO(mask.data)) == []
    assert mask.hidden and {box["by"] for box in mask.hidden} >= {"detector"}
    probed = _tags(mask.data, tmp_path)
    text = json.dumps(probed)
    assert "48.8566" not in text and "Jeanne" not in text
    assert "location" not in probed["format"].get("tags", {})
    assert {s["codec_type"] for s in probed["streams"]} == {"video", "audio"}
    # Stored encrypted under the item's key, beside the original.
    with app.app_context():
        path = runtime().files.path(masked_id(media["id"]))
    assert path.is_file() and mask.data[:64] not in path.read_bytes()


def test_the_tablet_offers_the_face_hidden_answer_and_shows_the_masked_video(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
) -> None:
    api, patient, media = _upload(app, clinician["key"], face_video)
    wait_for_masked_videos()
    created = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    page = tablet.get("/tablet/media").get_data(as_text=True)
    assert f'<video src="/tablet/media/{media["id"]}/masked"' in page
    assert "Video 1 with the face hidden" in page
    shown = tablet.get(f"/tablet/media/{media['id']}/masked", headers={"Range": "bytes=0-"})
    assert shown.status_code == 206 and shown.mimetype == "video/mp4"
    stored = _stored(app, media["id"])
    assert shown.get_data() == stored.data
    question = to_the_question(tablet)
    assert 'value="hidden"' in question and "still being prepared" not in question
    answered = tablet.post(
        "/tablet/question/1", data={"csrf_token": csrf(question), "answer": "hidden"}
    )
    assert answered.status_code == 302

    # The decision records the stored copy; verify allows it and names it for the original.
    decided = _decide(api, created["id"])
    assert decided.status_code == 201, decided.json
    receipt = decided.json["receipt"]["receipt"]
    assert receipt["media"][0]["masked_sha256"] == stored.sha256
    copy = api.verify(stored.sha256, PUBLIC)["answer"]
    assert copy["decision"] == "allowed"
    assert copy["match"]["rendition"] == "face-masked"
    original = api.verify(media["sha256"], PUBLIC)["answer"]
    assert original["decision"] == "masked_only" and original["masked_sha256"] == stored.sha256
    fetched = api.client.get(f"/api/v1/media/{media['id']}/masked", headers=api.headers)
    assert fetched.status_code == 200 and fetched.mimetype == "video/mp4"
    assert fetched.get_data() == stored.data
    # The rendition receipt names the MP4 copy, with no perceptual hash, as the schema says.
    with app.app_context():
        leaves = db.session.scalars(select(LogLeaf).where(LogLeaf.kind == "rendition")).all()
        envelopes = [json.loads(leaf.data) for leaf in leaves]
    body = next(e["receipt"] for e in envelopes if e["receipt"]["sha256"] == stored.sha256)
    assert (body["kind"], body["media_type"], body["phash"]) == ("face-masked", "video/mp4", None)
    valid(RECEIPT, envelopes[-1])


def to_the_question(tablet: Any) -> str:
    """From the opened link through the reading and the check to the first question."""
    assert tablet.get("/tablet/start").status_code == 200
    for number in range(1, 10):
        if tablet.get(f"/tablet/read/{number}").status_code == 404:
            break
    check = tablet.get("/tablet/check").get_data(as_text=True)
    right = tablet.post(
        "/tablet/check", data={"csrf_token": csrf(check), **comprehension_answers()}
    )
    assert right.location.endswith("/tablet/question/1"), right.location
    return str(tablet.get("/tablet/question/1").get_data(as_text=True))


def _decide(api: Flow, request_id: str) -> Any:
    body = {
        "signer": {"role": "patient"},
        "choices": [{"purpose": PUBLIC, "granted": True, "face": "hidden"}],
        "method": "external",
        "evidence": evidence(),
    }
    return api.client.post(
        f"/api/v1/requests/{request_id}/decision", json=body, headers=api.headers
    )


def test_while_the_copy_is_being_made_the_tablet_offers_yes_or_no_and_says_why(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The encoder never gets to run: the copy stays "being prepared".
    monkeypatch.setattr(background, "start_masked_video", lambda files, job: None)
    monkeypatch.setattr("consent.workflows.face_mask.start_masked_video", lambda f, j: None)
    api, patient, media = _upload(app, clinician["key"], face_video)
    created = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    page = tablet.get("/tablet/media").get_data(as_text=True)
    assert "The version of this video with your face hidden is still being prepared." in page
    assert tablet.get(f"/tablet/media/{media['id']}/masked").status_code == 404
    question = to_the_question(tablet)
    assert 'value="hidden"' not in question
    assert "still being prepared. For now you can answer Yes or No." in question
    sent = tablet.post(
        "/tablet/question/1", data={"csrf_token": csrf(question), "answer": "hidden"}
    )
    assert sent.status_code == 422
    # Nor can another path record the answer without the copy: the API, a paper form entered
    # through the API or on the clinician's page (said on the form; nothing recorded).
    refused = _decide(api, created["id"])
    assert refused.status_code == 409 and "still being prepared" in refused.json["message"]
    paper = api.paper(created["id"], {PUBLIC: "face_hidden"}, scan_pdf())
    assert paper.status_code == 409, paper.json
    doctor = _logged_in(app, clinician["email"])
    url = f"/clinician/requests/{created['id']}/paper"
    form = {"csrf_token": csrf(doctor.get(url).get_data(as_text=True)), "role": "patient"}
    form.update({PUBLIC: "face_hidden", "scan": (io.BytesIO(scan_pdf()), "scan.pdf")})
    page = doctor.post(url, data=form, content_type="multipart/form-data")
    shown = page.get_data(as_text=True)
    assert page.status_code == 409 and "still being prepared" in shown
    # On the form itself, its answers kept, asking for the scan again.
    assert "Choose the file of the scanned paper form again." in shown
    assert api.verify(media["sha256"], PUBLIC)["answer"]["decision"] != "masked_only"


def test_a_video_in_which_the_detector_still_finds_a_face_gets_no_copy(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds: list[int] = []

    def always_a_face(*args: Any) -> list[FaceBox]:
        rounds.append(1)
        return [FaceBox(10 * len(rounds), 10, 40, 40, "check", 0.0)]

    monkeypatch.setattr(masking, "faces_left", always_a_face)
    api, patient, media = _upload(app, clinician["key"], face_video)
    wait_for_masked_videos()
    assert len(rounds) == masking.MASK_ROUNDS + 1  # bounded: masked again, then refused
    mask = _stored(app, media["id"])
    assert mask is not None and mask.data is None and "still found" in mask.refused
    created = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    page = tablet.get("/tablet/media").get_data(as_text=True)
    assert "A version of this video with your face hidden could not be made." in page
    question = to_the_question(tablet)
    assert 'value="hidden"' not in question
    assert _decide(api, created["id"]).status_code == 409


def test_changed_boxes_give_a_new_copy_and_erasure_removes_it(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
    runner: Any,
) -> None:
    _api, patient, media = _upload(app, clinician["key"], face_video)
    wait_for_masked_videos()
    first = _stored(app, media["id"])
    with app.app_context():
        item = db.session.get_one(MediaItem, media["id"])
        set_faces(db.session, item, [FaceBox(10, 10, 60, 60, "clinician", 0.0)])
        prepare_masked_video(db.session, runtime(), item)
        db.session.commit()
    wait_for_masked_videos()
    second = _stored(app, media["id"])
    assert second is not None and second.data and second.key != first.key
    assert second.sha256 != first.sha256
    # In the copy's own pixels (240 high; the upload looked at frames 360 high).
    assert {"x": 7, "y": 7, "w": 40, "h": 40, "by": "clinician", "t": 0.0} in second.hidden
    # The detector's box was removed: the check found the face again and hid it.
    assert "check" in {box["by"] for box in second.hidden}
    assert faces_in_video(io.BytesIO(second.data)) == []
    with app.app_context():
        path = runtime().files.path(masked_id(media["id"]))
    assert path.is_file()
    assert runner.invoke(args=["erase-patient", patient, "--yes"]).exit_code == 0
    assert not path.exists()


def test_without_ffmpeg_the_tablet_says_the_copy_could_not_be_made(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("consent.workflows.face_mask.encoder", lambda: None)
    monkeypatch.setattr("consent.workflows.masked_video.encoder", lambda: None)
    api, patient, media = _upload(app, clinician["key"], face_video)
    wait_for_masked_videos()
    created = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    tablet = app.test_client()
    tablet.get(created["signing_url"][len("http://consent.test") :])
    page = tablet.get("/tablet/media").get_data(as_text=True)
    assert "A version of this video with your face hidden could not be made." in page
    assert 'value="hidden"' not in to_the_question(tablet)


def test_the_clinician_checks_a_videos_boxes_on_a_frame_and_the_copy_follows(
    app: Flask,
    clinician: dict[str, Any],  # noqa: F811
    face_video: bytes,
) -> None:
    api, patient, media = _upload(app, clinician["key"], face_video)
    created = api.open_request(patient, [media["id"]], [{"purpose": PUBLIC}])
    wait_for_masked_videos()
    first = _stored(app, media["id"])
    doctor = _logged_in(app, clinician["email"])
    page = doctor.get(f"/clinician/requests/{created['id']}").get_data(as_text=True)
    assert f'id="faces-{media["id"]}"' in page and "Save the boxes of video 1" in page
    frame = doctor.get(f"/clinician/media/{media['id']}/faces")
    assert frame.status_code == 200 and frame.mimetype.startswith("image/")
    with Image.open(io.BytesIO(frame.get_data())) as shown:
        assert shown.size == (640, 360)  # the detector's frame, where the boxes are measured
    # The clinician adds a box over the flag (a place the detector did not box).
    rows = len(_faces(app, media["id"]))
    form = {"csrf_token": csrf(page)}
    for number, box in enumerate(_faces(app, media["id"]), start=1):
        form.update({f"box-{number}-{p}": str(getattr(box, p)) for p in "xywh"})
    form.update({f"box-{rows + 1}-x": "62", f"box-{rows + 1}-y": "30"})
    form.update({f"box-{rows + 1}-w": "60", f"box-{rows + 1}-h": "60"})
    saved = doctor.post(f"/clinician/requests/{created['id']}/media/{media['id']}/faces", data=form)
    assert saved.status_code == 302
    wait_for_masked_videos()
    second = _stored(app, media["id"])
    assert second.key != first.key and second.sha256 != first.sha256
    added = {"x": 41, "y": 20, "w": 40, "h": 40, "by": "clinician"}
    assert any(added.items() <= box.items() for box in second.hidden), second.hidden
