"""Light pages (issue 21): the tablet is sent each photo as a screen-sized copy (made once,
stored encrypted, never the original), kept in its own private cache for the signing session,
and a video in ranges so that it can start playing before it has arrived."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

from flask import Flask
from PIL import Image

from consent.crypto.vault import decrypt_stream
from consent.db import db
from consent.media.models import MediaItem
from consent.media.screen import SCREEN_LONGEST_SIDE, screen_id
from consent.media.subjects import media_key
from consent.web.context import runtime
from tests.factories import photo
from tests.pages.test_tablet_flow import clinician, opened

__all__ = ["clinician", "opened"]  # fixtures


def exif_photo(size: tuple[int, int]) -> bytes:
    """A phone photo: landscape pixels, "rotate 90°", a GPS position and a camera serial."""
    image = Image.open(io.BytesIO(photo(5, size=size)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    exif[0xA431] = "SERIAL-0042"  # BodySerialNumber
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # GPSInfo: latitude
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75, exif=exif)
    return buffer.getvalue()


def video() -> bytes:
    """An MP4 as the upload sniffs it (an ftyp box, then mdat): bytes, not a playable film."""
    ftyp = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41"
    body = os.urandom(300_000)
    return ftyp + (8 + len(body)).to_bytes(4, "big") + b"mdat" + body


def test_the_tablet_gets_a_screen_sized_copy_without_metadata_never_the_original(
    app: Flask, opened: dict[str, Any]
) -> None:
    api = opened["api"]
    patient = api.patient()
    original = exif_photo((2000, 1500))  # under 500 KB: the test client spools no file
    item = api.media(patient, original)
    request_ = api.open_request(
        patient, [item["id"]], [{"purpose": "teaching"}], expires_at="2031-01-01T00:00:00Z"
    )
    with app.app_context():  # made at upload, so that the tablet's first view need not wait
        assert runtime().files.holds(screen_id(item["id"]))
    tablet = app.test_client()
    tablet.get(request_["signing_url"][len("http://consent.test") :])
    sent = tablet.get(f"/tablet/media/{item['id']}")
    assert sent.status_code == 200 and sent.mimetype == "image/jpeg"
    data = sent.get_data()
    assert data != original and len(data) < len(original) and len(data) < 400_000
    shown = Image.open(io.BytesIO(data))
    # Upright (the orientation applied to the pixels), the longest side at most 1600 px.
    assert shown.size == (SCREEN_LONGEST_SIDE * 3 // 4, SCREEN_LONGEST_SIDE)
    assert not shown.getexif() and b"SERIAL-0042" not in data
    with app.app_context():
        minutes = runtime().settings.signing_link_minutes
    assert sent.headers["Cache-Control"] == f"private, max-age={minutes * 60}"
    assert int(sent.headers["Content-Length"]) == len(data)
    # Stored once, encrypted with the item's key like the original; read back the same.
    with app.app_context():
        rt = runtime()
        stored = rt.files.path(screen_id(item["id"])).read_bytes()
        assert data not in stored and stored[:3] != b"\xff\xd8\xff"
        key = media_key(db.session, rt.vault, db.session.get_one(MediaItem, item["id"]))
        assert b"".join(decrypt_stream(key, io.BytesIO(stored))) == data
    again = tablet.get(f"/tablet/media/{item['id']}")
    assert hashlib.sha256(again.get_data()).digest() == hashlib.sha256(data).digest()


def test_the_tablet_caches_a_photo_privately_for_the_signing_session(
    app: Flask, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    tablet.get(opened["path"])
    image = tablet.get(f"/tablet/media/{opened['media']['id']}")
    assert image.status_code == 200 and image.get_data() != photo(3)
    assert Image.open(io.BytesIO(image.get_data())).size == (640, 480)  # never enlarged
    with app.app_context():
        minutes = runtime().settings.signing_link_minutes
    assert image.headers["Cache-Control"] == f"private, max-age={minutes * 60}"
    # Without the signing session, nothing (the cache is the browser's own, never shared).
    assert app.test_client().get(f"/tablet/media/{opened['media']['id']}").status_code == 410


def test_a_video_is_served_in_ranges_from_the_decrypted_file(
    app: Flask, opened: dict[str, Any]
) -> None:
    api = opened["api"]
    patient = api.patient()
    whole = video()
    item = api.media(patient, whole, name="film.mp4")
    request_ = api.open_request(
        patient, [item["id"]], [{"purpose": "teaching"}], expires_at="2031-01-01T00:00:00Z"
    )
    tablet = app.test_client()
    tablet.get(request_["signing_url"][len("http://consent.test") :])
    url = f"/tablet/media/{item['id']}"
    size = len(whole)
    first = tablet.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.get_data() == whole[:100]
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert first.headers["Accept-Ranges"] == "bytes"
    half = size // 2
    middle = tablet.get(url, headers={"Range": f"bytes={half}-{size + 50}"})
    assert middle.status_code == 206 and middle.get_data() == whole[half:]
    tail = tablet.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.get_data() == whole[-10:]
    beyond = tablet.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    several = tablet.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.get_data() == whole
