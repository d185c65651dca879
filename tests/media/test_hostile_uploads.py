"""Hostile uploads: each is answered with a clear 4xx in the one error shape, and nothing of it is
stored (no row, no file), wherever a file can be sent."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from consent.web.context import runtime
from tests.conftest import LiveSettings
from tests.factories import Flow, api_key, photo
from tests.test_errors import assert_error_shape, snapshot


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png() -> bytes:
    """A 50,000 x 50,000 grey PNG of a few hundred bytes: 2.5 gigapixels once decoded."""
    row = b"\x00" + bytes(50_000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(row * 4, 9))
        + _png_chunk(b"IEND", b"")
    )


def huge_jpeg() -> bytes:
    """A real JPEG whose frame header claims 65,000 x 65,000 pixels."""
    data = bytearray(photo(1))
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", 65_000, 65_000)
    return bytes(data)


def jpeg_with_comment(comment: bytes) -> bytes:
    data = photo(2)
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def jpeg_then_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("payload.txt", "not a photo")
    return photo(3) + archive.getvalue()


def png_then_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue() + b"<p>hidden</p>"


# The 24-byte ISO base media header (an ftyp box) that makes a file an MP4 by its first bytes.
MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
# The EBML header that makes a file a WebM by its first bytes.
WEBM_HEADER = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d")


# (name, file name, bytes, expected status)
HOSTILE = [
    ("decompression bomb", "bomb.png", bomb_png, 422),
    ("huge dimensions", "huge.jpg", huge_jpeg, 422),
    ("truncated JPEG", "cut.jpg", lambda: photo(4)[: len(photo(4)) // 2], 422),
    ("JPEG hiding a script", "x.jpg", lambda: jpeg_with_comment(b"<script>alert(1)</script>"), 422),
    ("JPEG hiding a PDF", "x.jpg", lambda: jpeg_with_comment(b"%PDF-1.7 1 0 obj"), 422),
    ("JPEG then a ZIP archive", "x.jpg", jpeg_then_zip, 422),
    ("PNG with bytes after its end", "x.png", png_then_bytes, 422),
    (
        "MP4 header then a page with a script",
        "x.mp4",
        lambda: MP4_HEADER + b"<html><script>alert(1)</script>",
        422,
    ),
    (
        "WebM header then a page",
        "x.webm",
        lambda: WEBM_HEADER + bytes(64) + b"<!DOCTYPE html><p>hi",
        422,
    ),
    ("MP4 header then a PDF", "x.mp4", lambda: MP4_HEADER + bytes(100) + b"%PDF-1.7 1 0 obj", 422),
    ("a PDF named .jpg", "x.jpg", lambda: b"%PDF-1.7\n%%EOF\n", 415),
    ("HTML named .png", "x.png", lambda: b"<!doctype html><script>alert(1)</script>", 415),
    ("empty file", "x.jpg", lambda: b"", 415),
    ("path traversal", "../../etc/passwd.jpg", lambda: photo(5), 422),
    ("Windows path traversal", "..\\..\\boot.jpg", lambda: photo(5), 422),
    ("control characters", "photo\x00.jpg", lambda: photo(5), 422),
]


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _files(app: Flask) -> set[Any]:
    return set(runtime().files.root.rglob("*"))


def _upload_media(flow: Flow, name: str, data: bytes) -> Any:
    patient = flow.patient()
    return flow.client.post(
        "/api/v1/media",
        data={"patient_id": patient, "file": (io.BytesIO(data), name)},
        headers=flow.headers,
    )


def _verify_upload(flow: Flow, name: str, data: bytes) -> Any:
    return flow.client.post(
        "/api/v1/verify",
        data={"purpose": "teaching", "file": (io.BytesIO(data), name)},
        headers=flow.headers,
    )


ENDPOINTS: dict[str, Callable[[Flow, str, bytes], Any]] = {
    "media upload": _upload_media,
    "verify upload": _verify_upload,
}


@pytest.mark.parametrize("spool", ["memory", "disk"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("name", "file_name", "make", "status"), HOSTILE, ids=[case[0] for case in HOSTILE]
)
def test_hostile_file_is_refused_and_nothing_is_stored(
    app: Flask,
    flow: Flow,
    endpoint: str,
    name: str,
    file_name: str,
    make: Callable[[], bytes],
    status: int,
    spool: str,
    monkeypatch: pytest.MonkeyPatch,
    configure: LiveSettings,
) -> None:
    # Small uploads wait in memory and are checked beside their decode; large ones wait on disk
    # and are read in chunks (consent.web.uploads): both refuse alike.
    if spool == "disk":
        configure["CONSENT_UPLOAD_MEMORY_BYTES"] = 0
    data = make()
    before, files_before = snapshot(), _files(app)
    response = ENDPOINTS[endpoint](flow, file_name, data)
    after = snapshot()
    if endpoint == "media upload":
        after["patients"] -= 1  # the call made its patient first
        after["patient_keys"] -= 1
    assert_error_shape(response, status)
    assert after == before
    assert _files(app) == files_before


def test_a_scan_that_is_not_a_pdf_is_refused(app: Flask, flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(6))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching", "channels": []}])
    before, files_before = snapshot(), _files(app)
    response = flow.client.post(
        f"/api/v1/requests/{request_id}/paper",
        data={
            "scan": (io.BytesIO(b"%PDF-1.4 this is not a PDF at all"), "scan.pdf"),
            "teaching": "granted",
        },
        headers=flow.headers,
    )
    assert response.status_code in (415, 422)
    assert_error_shape(response, response.status_code)
    assert snapshot() == before and _files(app) == files_before


def test_the_tests_files_are_what_they_claim() -> None:
    # The bomb is small on the wire and huge decoded; the huge JPEG is otherwise a real JPEG.
    bomb = bomb_png()
    assert len(bomb) < 10_000 and struct.unpack(">II", bomb[16:24]) == (50_000, 50_000)
    huge = huge_jpeg()
    at = huge.find(b"\xff\xc0")
    assert struct.unpack(">HH", huge[at + 5 : at + 9]) == (65_000, 65_000)
    assert huge[at + 9 :] == photo(1)[at + 9 :]
    with Image.open(io.BytesIO(jpeg_then_zip())) as image:
        image.load()  # a viewer shows a photo; an archive tool sees the ZIP
    assert zipfile.ZipFile(io.BytesIO(jpeg_then_zip())).namelist() == ["payload.txt"]
