"""Light pages (issue 21): a video reaches the tablet as a screen copy made once with FFmpeg
(H.264 at most 480 px high, a low bitrate, its index first), stored encrypted, served in ranges;
without FFmpeg the original is streamed as before and the page still works."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from consent.crypto.vault import decrypt_stream
from consent.db import db
from consent.media.models import MediaItem
from consent.media.screen import screen_id
from consent.media.subjects import media_key
from consent.web.context import runtime
from consent.workflows import screen_video
from consent.workflows.screen_video import wait_for_screen_videos
from tests.factories import tablet_consent
from tests.pages.test_tablet_flow import clinician, opened

__all__ = ["clinician", "opened"]  # fixtures

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="FFmpeg is not installed (Debian package ffmpeg; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def phone_video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 4 s MP4 as a camera writes it: 960x540 H.264 at 700 kbit/s, stereo AAC, its index
    (moov) at the end. Under 500 KB, so that the test client spools no file."""
    path = tmp_path_factory.mktemp("video") / "phone.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"),
            *("-f", "lavfi", "-i", "testsrc2=size=960x540:rate=30"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
            *("-t", "4", "-c:v", "libx264", "-b:v", "700k", "-c:a", "aac", "-ac", "2"),
            *("-metadata", "location=+48.8566+002.3522/", "-y", str(path)),
        ],
        check=True,
        timeout=120,
    )
    data = path.read_bytes()
    assert data.find(b"moov") > data.find(b"mdat") > 0
    return data


def probe(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "shown.mp4"
    path.write_bytes(data)
    answer = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    # Decodable to the end: every frame read back without an error.
    decoded = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert decoded.stderr == b""
    return dict(json.loads(answer.stdout))


def upload_and_open(app: Flask, opened: dict[str, Any], data: bytes) -> tuple[str, Any, Any]:
    api = opened["api"]
    patient = api.patient()
    item = api.media(patient, data, name="film.mp4")
    request_ = api.open_request(
        patient, [item["id"]], [{"purpose": "teaching"}], expires_at="2031-01-01T00:00:00Z"
    )
    wait_for_screen_videos()  # made in the background once the upload committed
    tablet = app.test_client()
    tablet.get(request_["signing_url"][len("http://consent.test") :])
    return item["id"], tablet, request_


def test_the_tablet_gets_a_smaller_playable_screen_copy_of_a_video_in_ranges(
    app: Flask, opened: dict[str, Any], phone_video: bytes, tmp_path: Path
) -> None:
    media_id, tablet, request_ = upload_and_open(app, opened, phone_video)
    with app.app_context():
        assert runtime().files.holds(screen_id(media_id))
    page = tablet.get("/tablet/media").get_data(as_text=True)
    assert f'<video src="/tablet/media/{media_id}"' in page
    url = f"/tablet/media/{media_id}"
    whole = tablet.get(url)
    assert whole.status_code == 200 and whole.mimetype == "video/mp4"
    copy = whole.get_data()
    assert copy != phone_video and len(copy) < len(phone_video)
    # The index first: the tablet can start playing from the first kilobytes.
    assert 0 < copy.find(b"moov") < copy.find(b"mdat")
    found = probe(copy, tmp_path)
    streams = {stream["codec_type"]: stream for stream in found["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["video"]["height"] <= 480
    assert streams["audio"]["codec_name"] == "aac" and streams["audio"]["channels"] == 1
    assert int(found["format"]["bit_rate"]) < 600_000
    assert "location" not in json.dumps(found["format"].get("tags", {}))
    with app.app_context():
        minutes = runtime().settings.signing_link_minutes
    assert whole.headers["Cache-Control"] == f"private, max-age={minutes * 60}"
    # Ranges, as a video element asks for them.
    first = tablet.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.get_data() == copy[:100]
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(copy)}"
    assert first.headers["Accept-Ranges"] == "bytes"
    tail = tablet.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.get_data() == copy[-10:]
    beyond = tablet.get(url, headers={"Range": f"bytes={len(copy)}-"})
    assert beyond.status_code == 416
    # Stored once, encrypted with the item's key like the original.
    with app.app_context():
        rt = runtime()
        stored = rt.files.path(screen_id(media_id)).read_bytes()
        assert b"ftyp" not in stored[:64]
    # The receipt still binds the original, which the copy was made from.
    consent = tablet_consent(request_["id"], {"teaching": True})
    media = json.loads(consent.receipt)["media"]
    assert media[0]["sha256"] == hashlib.sha256(phone_video).hexdigest()
    with app.app_context():
        item = db.session.get_one(MediaItem, media_id)
        key = media_key(db.session, runtime().vault, item)
        assert b"".join(decrypt_stream(key, io.BytesIO(stored))) == copy


def test_without_ffmpeg_the_original_is_streamed_and_the_log_says_so(
    app: Flask,
    opened: dict[str, Any],
    phone_video: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(screen_video, "encoder", lambda: None)
    caplog.set_level(logging.INFO)
    media_id, tablet, _request = upload_and_open(app, opened, phone_video)
    assert "ffmpeg is not installed" in caplog.text
    with app.app_context():
        assert not runtime().files.holds(screen_id(media_id))
    assert tablet.get("/tablet/media").status_code == 200
    whole = tablet.get(f"/tablet/media/{media_id}")
    assert whole.status_code == 200 and whole.get_data() == phone_video
    first = tablet.get(f"/tablet/media/{media_id}", headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.get_data() == phone_video[:100]
    assert "the original is streamed" in caplog.text
