"""A 363 KB PNG of 9400 x 9400 pixels once cost 5 s and 600 MB per request on the routes that
only compare an image (verify by upload, the public file check): two at once pinned both
workers. Those routes now decode reduced and refuse what would still decode too large; and every
worker decodes a few images at once at most, answering 503 with Retry-After beyond."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from consent.media import decoding
from tests.conftest import dispose, make_app
from tests.factories import Flow, api_key, photo
from tests.pages.test_public_file_check import check
from tests.test_errors import assert_error_shape, snapshot


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def big_png(side: int = 9400) -> bytes:
    """A whole, valid grey PNG of side x side pixels: a few hundred KB, 88 megapixels decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes(range(256)) * (side // 256) + bytes(side % 256)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def big_jpeg(side: int = 6000) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((side, side)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def verify_upload(flow: Flow, data: bytes, name: str) -> object:
    return flow.client.post(
        "/api/v1/verify",
        data={"purpose": "teaching", "file": (io.BytesIO(data), name)},
        headers=flow.headers,
    )


def test_a_9400_pixel_png_sent_to_verify_is_refused_with_413_before_its_decode(
    flow: Flow,
) -> None:
    data = big_png()
    assert len(data) < 1024 * 1024
    before = snapshot()
    body = assert_error_shape(verify_upload(flow, data, "big.png"), 413)
    assert "9400x9400" in body["message"] and "SHA-256" in body["message"]
    assert snapshot() == before


def test_a_9400_pixel_png_dropped_on_the_public_check_is_refused_with_413(
    app: Flask, flow: Flow
) -> None:
    consent_id = flow.consent(photo(31), {"teaching": True})["consent_id"]
    response = check(app, consent_id, big_png(), "big.png")
    assert response.status_code == 413
    assert "too large to check" in response.get_data(as_text=True)


def test_a_large_jpeg_is_compared_from_a_reduced_decode(flow: Flow) -> None:
    # 36 megapixels, above the check limit, but JPEG decodes at an eighth of its size.
    response = verify_upload(flow, big_jpeg(), "big.jpg")
    assert response.status_code == 200, response.json
    assert response.json["answer"]["decision"] == "unknown"


@pytest.fixture
def one_busy_slot() -> Iterator[decoding.DecodeSlots]:
    decoding.configure(slots=1, wait_seconds=0)
    slots = decoding.decode_slot()
    try:
        with slots.held():  # another request of this worker is decoding
            yield slots
    finally:
        decoding.configure(slots=2, wait_seconds=5.0)


def test_a_decode_beyond_the_workers_slots_gets_503_with_retry_after(
    app: Flask, flow: Flow, one_busy_slot: decoding.DecodeSlots
) -> None:
    response = verify_upload(flow, photo(32), "photo.jpg")
    assert_error_shape(response, 503)
    assert response.headers["Retry-After"] == "1"


def test_the_decode_slots_come_from_the_settings(instance_dir: Path, database_url: str) -> None:
    app = make_app(
        instance_dir, database_url, CONSENT_IMAGE_DECODES=3, CONSENT_IMAGE_DECODE_WAIT_SECONDS=1.5
    )
    try:
        assert decoding.decode_slot().slots == 3
        assert decoding.decode_slot().wait_seconds == 1.5
    finally:
        dispose(app)
        decoding.configure(slots=2, wait_seconds=5.0)
